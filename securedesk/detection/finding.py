"""``Finding``: one detected card number, national ID or IBAN, located in the ORIGINAL text."""

from __future__ import annotations

from dataclasses import dataclass

from securedesk.sensitive import Sensitive


@dataclass(frozen=True, slots=True)
class Finding:
    """A detected entity. ``start``/``end`` are Python string offsets into the original text, end exclusive.

    ``value`` is the matched original text (separators, full-width digits and zero-width characters included);
    ``digits`` is the normalized value: ASCII digits and upper-case letters only ("4111111111111111",
    "GB82WEST12345698765432", "253072B07300470"). Both are ``Sensitive``: their repr is masked.
    """

    entity_type: str
    start: int
    end: int
    score: float
    value: Sensitive
    digits: Sensitive

    @property
    def last4(self) -> str:
        """The last four characters of the normalized value: the most that may ever be shown."""
        return self.digits.reveal()[-4:]
