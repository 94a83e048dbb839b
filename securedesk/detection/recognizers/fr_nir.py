"""FR_NIR: the French numéro de sécurité sociale (NIR, "numéro INSEE"): 13 characters and a 2-digit key.

Layout: sex (1, 2, or 3, 4, 7, 8 for provisional numbers), year, month (01–12, or 20–42 and 50–99 when unknown),
department (two digits, or 2A/2B for Corsica), commune, order number, key = 97 − (number mod 97), where 2A counts
as 19 and 2B as 18 (python-stdnum's ``stdnum.fr.nir``). Any layout; the key may stand apart ("1841275108045 28")
or be labelled ("… 045 clé 28"). Without its key the number has no check, and counts only with NIR context.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

from stdnum.fr import nir

from securedesk.detection.recognizers.base import EntityType, adjust_for_place
from securedesk.detection.skeleton import LABEL, Shape

#: The 13 characters before the key: sex, year, month, department (2A/2B), commune and order number.
_BODY: Final = re.compile(r"[1-478][0-9]{2}(?:0[1-9]|1[0-2]|[2-9][0-9])(?:[0-9]{2}|2[AB])[0-9]{6}")


def is_valid_nir(compact: str) -> bool:
    """True for 15 characters (2A/2B allowed as department) with a valid key."""
    return len(compact) == 15 and _BODY.match(compact) is not None and nir.is_valid(compact)


class FrNir(EntityType):
    ENTITY: ClassVar[str] = "FR_NIR"
    LENGTHS: ClassVar[frozenset[int]] = frozenset({13, 15})
    KEY_LABEL: ClassVar[bool] = True
    CONTEXT: ClassVar[dict[str, tuple[str, ...]]] = {
        "en": (
            "nir", "insee", "french social security", "social security", "securite sociale", "sécurité sociale",
            "carte vitale", "vitale", "france", "french",
        ),
        "fr": (
            "nir", "insee", "numéro de sécurité sociale", "sécurité sociale", "sécu", "carte vitale", "vitale",
            "numéro d'assuré", "assuré", "assurance maladie", "ameli", "cpam", "numéro d'inscription",
        ),
        "sv": ("nir", "insee", "franskt", "franska", "socialförsäkringsnummer", "sécurité sociale", "frankrike"),
    }  # fmt: skip

    def is_valid(self, compact: str) -> bool:
        if len(compact) == 13:
            return _BODY.fullmatch(compact) is not None
        return is_valid_nir(compact)

    def score(self, compact: str, shape: Shape) -> tuple[float, str] | None:
        lengths = shape.lengths
        if LABEL in shape.gaps and (lengths[-1] != 2 or len(compact) != 15):
            return None  # a key label stands only before the 2-digit key
        if len(compact) == 13:
            score, form = 0.25, "without its key"
        elif len(lengths) == 1:
            score, form = 0.65, "contiguous"
        elif LABEL in shape.gaps:
            score, form = 0.85, "key labelled"
        elif len(lengths) == 2 and lengths[-1] == 2:
            score, form = 0.75, "key apart"
        elif len(lengths) >= 5:
            score, form = 0.85, "grouped"
        else:
            score, form = 0.6, "irregular groups"
        return adjust_for_place(score, form, shape)
