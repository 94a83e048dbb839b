"""Property-based rendering fuzzer: valid numbers written in any layout a person, a mail client or a chat widget
produces, in en/fr/sv sentences and split over chat messages; the detector must find each at its exact offsets."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from securedesk.clock import FixedClock
from securedesk.detection import Detector
from securedesk.detection.conversation import SEPARATORS as CHAT_SEPARATORS
from securedesk.detection.conversation import ConversationScanner

sys.path.insert(0, str(Path(__file__).parents[2] / "vectors"))
import detection_corpus as corpus

#: What can stand between two digit groups of one written number.
GAPS = (
    " ", "  ", "-", " - ", ".", "\t", "\n", "\r\n", "\n> ", "\r\n> > ", "=\n", "&nbsp;", "&#160;", "<span>",
    "</span><span>", "</td><td>", "\u00a0", "\u2009", "\u2013", "\u2011", "/", "_", ",",
)  # fmt: skip
#: Characters no viewer shows, put anywhere inside a group.
INVISIBLE = ("\u200b", "\u200c", "\u2060", "\ufeff", "\x00", "\x01", "\u0301", "\u00ad")
#: (entity, number maker, group sizes) — layouts people use for each type, with their context words.
LAYOUTS: dict[str, tuple[Callable[[random.Random], tuple[str, str]], tuple[tuple[int, ...], ...]]] = {
    "CREDIT_CARD": (corpus.card, ((4, 4, 4, 4, 3),)),
    "US_SSN": (corpus.ssn, ((3, 2, 4),)),
    "FR_NIR": (lambda rng: corpus.nir(rng, corsica=rng.random() < 0.2), ((1, 2, 2, 2, 3, 3, 2), (13, 2))),
    "SE_PERSONNUMMER": (lambda rng: corpus.personnummer(rng, coordination=rng.random() < 0.2), ((8, 4),)),
    "IBAN_CODE": (corpus.iban, ((4,) * 9,)),
}
CONTEXT = {
    "en": {"CREDIT_CARD": "my card is", "US_SSN": "my SSN is", "FR_NIR": "my NIR is",
           "SE_PERSONNUMMER": "my personnummer is", "IBAN_CODE": "my IBAN is"},
    "fr": {"CREDIT_CARD": "ma carte bancaire :", "US_SSN": "mon SSN américain :", "FR_NIR": "mon numéro de sécu :",
           "SE_PERSONNUMMER": "mon personnummer :", "IBAN_CODE": "mon IBAN :"},
    "sv": {"CREDIT_CARD": "mitt kortnummer är", "US_SSN": "mitt amerikanska SSN är", "FR_NIR": "mitt NIR är",
           "SE_PERSONNUMMER": "mitt personnummer är", "IBAN_CODE": "mitt IBAN är"},
}  # fmt: skip
AFTER = ("", ".", " thanks", " merci", " tack", "!", ", ok?", "\n\nBest regards")


def _card_sizes(number: str) -> tuple[int, ...]:
    return {14: (4, 6, 4), 15: (4, 6, 5)}.get(len(number), (4, 4, 4, 4, 3))


@st.composite
def rendered_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(entity, the number as written, language)."""
    entity = draw(st.sampled_from(sorted(LAYOUTS)))
    rng = random.Random(draw(st.integers(0, 2**32)))
    make, layouts = LAYOUTS[entity]
    number, _ = make(rng)
    sizes = _card_sizes(number) if entity == "CREDIT_CARD" else draw(st.sampled_from(layouts))
    groups = corpus._groups(number, sizes)
    if entity in ("US_SSN", "SE_PERSONNUMMER"):
        gaps = [draw(st.sampled_from(("-", "\u2013", "\u2011"))) for _ in groups[1:]]  # their telling layout
    else:
        gaps = [draw(st.sampled_from(GAPS)) for _ in groups[1:]]
    out = groups[0]
    for gap, group in zip(gaps, groups[1:], strict=True):
        out += gap + group
    if draw(st.booleans()):
        position = draw(st.integers(1, len(out) - 1))
        if out[position - 1].isalnum() and out[position].isalnum():
            out = out[:position] + draw(st.sampled_from(INVISIBLE)) + out[position:]
    if entity == "IBAN_CODE" and draw(st.booleans()):
        out = out.lower()
    return entity, out, draw(st.sampled_from(("en", "fr", "sv")))


@settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rendered=rendered_numbers(), after=st.sampled_from(AFTER), quoted=st.booleans())
def test_every_rendering_is_found_at_its_exact_offsets(
    detector: Detector, rendered: tuple[str, str, str], after: str, quoted: bool
) -> None:
    entity, number, lang = rendered
    prefix = ("> " if quoted else "") + CONTEXT[lang][entity] + " "
    text = prefix + number + after
    found = [(f.entity_type, f.start, f.end) for f in detector.analyze(text, lang)]
    assert found == [(entity, len(prefix), len(prefix) + len(number))]


#: What customers type between the parts of a number: nothing, a word, or a pause to find it.
SMALL_TALK: Final = (
    (),
    ("wait",),
    ("ok", "hmm"),
    ("hang on, getting my card",),
    ("attendez je cherche ma carte",),
    ("vänta, jag letar efter kortet",),
)


@settings(
    max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rendered=rendered_numbers(),
    cut=st.integers(1, 3),
    small_talk=st.sampled_from(SMALL_TALK),
    lead=st.sampled_from(("", "and ", "the rest: ", "puis ", "resten ", "...")),
)
def test_a_number_split_over_chat_messages_is_found(
    detector: Detector, rendered: tuple[str, str, str], cut: int, small_talk: tuple[str, ...], lead: str
) -> None:
    entity, number, lang = rendered
    # Chat messages are typed: the number's gaps are separators a person types, split where a person would.
    assume(all(char.isalnum() or char in CHAT_SEPARATORS for char in number))
    assume(number == number.upper())  # an IBAN split over messages is followed in capitals (a known limit)
    pieces = number.split(" ")
    assume(len(pieces) >= 2 and all(pieces))
    cut = min(cut, len(pieces) - 1)
    first, second = " ".join(pieces[:cut]), " ".join(pieces[cut:])
    assume(first[-1:].isalnum() and second[:1].isalnum())
    assume(any(char.isdigit() for char in second))  # a continuation of letters alone is no fragment (a known limit)
    scanner = ConversationScanner(detector, clock=FixedClock())
    messages = [CONTEXT[lang][entity] + " " + first, *small_talk, lead + second]
    findings = []
    for index, text in enumerate(messages):
        result = scanner.scan("c", f"m{index}", text, lang)
        findings += [finding.entity_type for finding in result.findings]
        scanner.record("c", f"m{index}", text, consumed=bool(result.findings))
    assert entity in findings
