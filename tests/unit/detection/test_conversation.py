"""ConversationScanner: numbers typed across consecutive chat messages, and numbers it must never invent."""

from __future__ import annotations

import pytest

from securedesk.clock import FixedClock
from securedesk.detection import Detector
from securedesk.detection.conversation import (
    ConversationScanner,
    FragmentPart,
    find_head,
    find_tail,
    is_small_talk,
    mask_trailing_fragment,
)
from securedesk.detection.normalization import normalize_text
from securedesk.errors import ConfigError


def scanner(detector: Detector, clock: FixedClock, **kwargs: object) -> ConversationScanner:
    return ConversationScanner(detector, clock=clock, **kwargs)  # type: ignore[arg-type]


def send(
    scan: ConversationScanner, messages: list[str], *, conversation: str = "c1", lang: str = "en"
) -> list[tuple[list[tuple[str, str, tuple[FragmentPart, ...]]], bool]]:
    """Scan and record each message as delivered unchanged (ids m1, m2, …); (findings, hold) per message."""
    out = []
    for index, text in enumerate(messages, start=1):
        result = scan.scan(conversation, f"m{index}", text, lang, min_score=0.5)
        found = [(f.entity_type, f.digits.reveal(), f.parts) for f in result.findings]
        hold = scan.record(conversation, f"m{index}", text, consumed=bool(result.findings))
        out.append((found, hold))
    return out


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        ("my card is 4111 1111", "4111 1111"),
        ("4111 1111", "4111 1111"),
        ("card: 4111-1111.  ", "4111-1111"),
        ("card:4111 1111", "4111 1111"),
        ("(4111 1111", "4111 1111"),
        ("ref 12 4111", "12 4111"),
        ("mixed 4111-1111 2222", "4111-1111 2222"),
        ("ok 7", "7"),  # one digit may begin a NIR ("2 05 05 …")
        ("order 4111 1111 shipped", None),  # a word after: no tail
        ("call +46 70 123", None),  # a phone number's country code glues it
        ("abc4111 1111", "1111"),  # "abc4111" is one token: only the free group is a tail
        ("4111-1111-", "4111-1111"),  # the next message continues after the dash
        ("1234 5678 9012 3456 7890", None),  # 20 digits: a whole number, not a fragment
    ],
)
def test_tail_fragments(text: str, tail: str | None) -> None:
    fragment = find_tail(normalize_text(text))
    assert (text[fragment.start : fragment.end] if fragment else None) == tail


@pytest.mark.parametrize(
    ("text", "head", "digit_only"),
    [
        ("1111 1111", "1111 1111", True),
        ("  1111 1111.", "1111 1111", True),
        ("1111 1111 thanks", "1111 1111", False),
        ("1111 1111, thanks", "1111 1111", False),
        ("1111", "1111", True),
        ("thanks 1111", None, False),
        ("1111abc", None, False),
        ("1111/22", None, False),
    ],
)
def test_head_fragments(text: str, head: str | None, digit_only: bool) -> None:
    found = find_head(normalize_text(text))
    if head is None:
        assert found is None
        return
    assert found is not None
    assert (text[found[0].start : found[0].end], found[1]) == (head, digit_only)


def test_a_card_in_two_messages(detector: Detector, clock: FixedClock) -> None:
    results = send(scanner(detector, clock), ["my card is 4111 1111", "1111 1111"])

    assert results == [
        ([], True),
        (
            [("CREDIT_CARD", "4111111111111111", (FragmentPart("m1", 11, 20), FragmentPart("m2", 0, 9)))],
            True,  # as recorded here (unmasked) m2 still ends with digits; the Screener records it masked
        ),
    ]


def test_a_card_in_three_messages(detector: Detector, clock: FixedClock) -> None:
    results = send(scanner(detector, clock), ["4111", "1111 1111", "1111 thanks"])

    assert [found for found, _ in results] == [
        [],
        [],
        [
            (
                "CREDIT_CARD",
                "4111111111111111",
                (FragmentPart("m1", 0, 4), FragmentPart("m2", 0, 9), FragmentPart("m3", 0, 4)),
            )
        ],
    ]


def test_a_card_in_four_messages(detector: Detector, clock: FixedClock) -> None:
    scan = scanner(detector, clock)
    results = send(scan, ["Mastercard 5555", "5555", "5555", "4444"])

    assert results[3][0] == [
        (
            "CREDIT_CARD",
            "5555555555554444",
            (
                FragmentPart("m1", 11, 15),
                FragmentPart("m2", 0, 4),
                FragmentPart("m3", 0, 4),
                FragmentPart("m4", 0, 4),
            ),
        )
    ]
    assert [found for found, _ in results[:3]] == [[], [], []]


def test_a_card_in_more_messages_than_the_bound_is_beyond_it(detector: Detector, clock: FixedClock) -> None:
    results = send(scanner(detector, clock, max_messages=4), ["4111", "1111", "1111", "11", "11"])

    assert [found for found, _ in results] == [[], [], [], [], []]


def test_the_default_bound_covers_a_card_typed_in_pairs_of_digits(detector: Detector, clock: FixedClock) -> None:
    results = send(scanner(detector, clock), ["card 41", "11", "11", "11", "11", "11", "11", "11"])

    assert [found[0][:2] for found, _ in results if found] == [("CREDIT_CARD", "4111111111111111")]


@pytest.mark.parametrize(
    ("messages", "lang", "entity", "digits"),
    [
        (["Mitt personnummer är 811218", "9876"], "sv", "SE_PERSONNUMMER", "8112189876"),
        (["Mon NIR : 1 84 12 75", "108 045 28"], "fr", "FR_NIR", "184127510804528"),
        (["card 4111-1111", "1111.1111"], "en", "CREDIT_CARD", "4111111111111111"),  # separators may differ
        (["card ４１１１ １１１１", "1111 1111"], "en", "CREDIT_CARD", "4111111111111111"),  # full-width digits
        (["card 4111\u200b1111", "1111\u200b1111"], "en", "CREDIT_CARD", "4111111111111111"),  # zero-width joins
        (["order 1234", "4111 1111", "1111 1111"], "en", "CREDIT_CARD", "4111111111111111"),  # stale group ignored
    ],
)
def test_other_types_and_forms(
    messages: list[str], lang: str, entity: str, digits: str, detector: Detector, clock: FixedClock
) -> None:
    results = send(scanner(detector, clock), messages, lang=lang)

    assert [(found[0][0], found[0][1]) for found, _ in results if found] == [(entity, digits)]


def test_fragment_spans_point_into_the_original_text(detector: Detector, clock: FixedClock) -> None:
    messages = ["card ４１１１ \u200b１１１１", "1111 1111"]
    results = send(scanner(detector, clock), messages)

    ((_, _, parts),) = results[1][0]
    assert messages[0][parts[0].start : parts[0].end] == "４１１１ \u200b１１１１"
    assert messages[1][parts[1].start : parts[1].end] == "1111 1111"


@pytest.mark.parametrize(
    "messages",
    [
        ["Order 1234 5678 shipped?", "9012 3456"],  # the number is inside a sentence: not a tail
        ["my order is 4111 1111", "and my ticket 1111 1111"],  # a word before the digits: not a head
        ["Call me on 070 123 45 67", "or 070 765 43 21"],
        ["0701234567", "0707654321"],  # two phone numbers: no valid number across them
        ["Room 4111 1111", "1111 1112"],  # fails Luhn
        ["I paid 1200", "and then 500"],
        ["4111 1111", "I am looking for the rest of my card number now", "1111 1111"],  # a sentence breaks the chain
        ["4111 1111", "1111 and", "1111 1111"],  # a middle message must be digits only
        ["4111 1111", "It has not arrived yet, can you check?", "1111 1111"],  # a sentence, not a pause
        ["4111 1111", "and it has not arrived", "1111 1111"],
        ["my order is 4111 1111", "rest of my order: 1111 1111"],  # "rest of …" is not a continuation word
        ["ticket 4111 1111 1111 1111", "1234"],  # a whole card plus a new group: nothing crosses the boundary
        ["it costs 41", "11 11"],  # too short for anything
    ],
)
def test_unrelated_numbers_in_consecutive_messages_are_not_merged(
    messages: list[str], detector: Detector, clock: FixedClock
) -> None:
    results = send(scanner(detector, clock), messages)

    assert [found for found, _ in results] == [[] for _ in messages]


@pytest.mark.parametrize(("seconds", "found"), [(60.0, True), (120.0, True), (120.5, False), (600.0, False)])
def test_fragments_expire_after_the_window(seconds: float, found: bool, detector: Detector, clock: FixedClock) -> None:
    scan = scanner(detector, clock, window_seconds=120.0)
    send(scan, ["4111 1111"])
    clock.advance(seconds)

    result = scan.scan("c1", "m2", "1111 1111", "en", min_score=0.5)

    assert bool(result.findings) is found
    assert scan.pending_message_ids("c1") == (("m1",) if found else ())


def test_every_fragment_of_a_chain_must_be_inside_the_window(detector: Detector, clock: FixedClock) -> None:
    scan = scanner(detector, clock, window_seconds=120.0)
    send(scan, ["4111"])
    clock.advance(100)
    scan.record("c1", "m2", "1111")
    clock.advance(100)  # m1 is now 200 s old, m2 100 s

    result = scan.scan("c1", "m3", "1111 1111", "en", min_score=0.5)

    assert result.findings == ()
    assert scan.pending_message_ids("c1") == ("m2",)


def test_conversations_are_separate_and_bounded_lru(detector: Detector, clock: FixedClock) -> None:
    scan = scanner(detector, clock, max_conversations=2)
    scan.record("a", "a1", "4111 1111")
    scan.record("b", "b1", "4111 1111")
    scan.pending_message_ids("a")
    scan.scan("a", "a2", "no digits here", "en")  # no head: the state is not read, nothing changes
    assert scan.scan("a", "a2", "2222", "en").findings == ()  # touches "a": now "b" is the least recent
    scan.record("c", "c1", "4111 1111")

    assert scan.pending_message_ids("b") == ()
    assert scan.pending_message_ids("a") == ("a1",)
    assert scan.scan("a", "a3", "1111 1111", "en", min_score=0.5).retract == ("a1",)
    assert scan.scan("b", "b2", "1111 1111", "en", min_score=0.5).retract == ()
    assert len(scan) == 2


def test_a_consumed_chain_is_forgotten(detector: Detector, clock: FixedClock) -> None:
    scan = scanner(detector, clock)
    send(scan, ["4111 1111"])
    result = scan.scan("c1", "m2", "1111 1111", "en", min_score=0.5)
    scan.record("c1", "m2", "[CARD •••• 1111]", consumed=bool(result.findings))

    assert result.retract == ("m1",)
    assert scan.pending_message_ids("c1") == ()
    assert len(scan) == 0


def test_forget_drops_a_conversation(detector: Detector, clock: FixedClock) -> None:
    scan = scanner(detector, clock)
    scan.record("c1", "m1", "4111 1111")
    scan.forget("c1")

    assert scan.scan("c1", "m2", "1111 1111", "en", min_score=0.5).findings == ()


@pytest.mark.parametrize(
    ("text", "hold"),
    [
        ("4111 1111", True),
        ("my card is 4111", True),
        ("12", True),  # digit-only: may be the middle of a number
        ("I need 12", False),  # a short number at the end of a sentence
        ("Thanks!", False),
        ("[CARD •••• 1111]", False),  # a mask is not a fragment
    ],
)
def test_which_messages_to_hold_back(text: str, hold: bool, detector: Detector, clock: FixedClock) -> None:
    assert scanner(detector, clock).record("c1", "m1", text) is hold


@pytest.mark.parametrize("kwargs", [{"max_messages": 1}, {"window_seconds": 0.0}, {"max_conversations": 0}])
def test_bounds_must_make_sense(kwargs: dict[str, float], detector: Detector, clock: FixedClock) -> None:
    with pytest.raises(ConfigError):
        scanner(detector, clock, **kwargs)


@pytest.mark.parametrize(
    ("messages", "entity", "digits"),
    [
        (["4111 1111", "hmm wait", "1111 1111"], "CREDIT_CARD", "4111111111111111"),  # small talk between
        (["4111 1111", "ok", "un instant", "1111 1111"], "CREDIT_CARD", "4111111111111111"),
        # A pause to find the number, in each language, and a continuation word before the rest.
        (
            ["my card is 4111 1111", "hang on, getting my card", "the rest: 1111 1111"],
            "CREDIT_CARD",
            "4111111111111111",
        ),
        (["ma carte 4111 1111", "attendez je cherche ma carte", "et 1111 1111"], "CREDIT_CARD", "4111111111111111"),
        (["kortet 4111 1111", "vänta jag hämtar kortet", "resten 1111 1111"], "CREDIT_CARD", "4111111111111111"),
        (["personnummer 811218", "oj förlåt, skickade för tidigt", "…9876"], "SE_PERSONNUMMER", "8112189876"),
        (
            ["IBAN FR76 3000 6000", "sorry wrong key, one second", "and then 0112 3456 7890 189"],
            "IBAN_CODE",
            "FR7630006000011234567890189",
        ),
        (["my ssn is 123-45", "6789"], "US_SSN", "123456789"),  # SSNs are joined too
        (["personnummer 811218", "9876"], "SE_PERSONNUMMER", "8112189876"),
        (["personnummer 19811218-", "9876"], "SE_PERSONNUMMER", "198112189876"),
        (["IBAN FR76 3000 6000 0112", "3456 7890 189"], "IBAN_CODE", "FR7630006000011234567890189"),
        (["IBAN", "FR76 3000 6000", "0112 3456", "7890 189"], "IBAN_CODE", "FR7630006000011234567890189"),
        # A word after the first part that says more follows, and a pause with a duration.
        (["my card 4111 1111 and", "1 sec", "1111 1111"], "CREDIT_CARD", "4111111111111111"),
        (["Mon NIR 1 84 12 75 puis", "108 045 28"], "FR_NIR", "184127510804528"),
        # One group per message: an IBAN's seven, with a pause in the middle; a card's four.
        (
            ["IBAN FR76", "3000", "6000", "ok", "0112", "3456", "7890", "189"],
            "IBAN_CODE",
            "FR7630006000011234567890189",
        ),
        (["card 4111", "1111", "1111", "1111"], "CREDIT_CARD", "4111111111111111"),
    ],
)
def test_every_type_is_joined_across_messages(
    detector: Detector, clock: FixedClock, messages: list[str], entity: str, digits: str
) -> None:
    results = send(scanner(detector, clock), messages)
    assert [(found[0][0], found[0][1]) for found, _ in results if found] == [(entity, digits)]


def test_small_talk_keeps_the_fragment_pending(detector: Detector, clock: FixedClock) -> None:
    scan = scanner(detector, clock)
    send(scan, ["4111 1111", "wait"])
    assert scan.pending_message_ids("c1") == ("m1",)
    clock.advance(121)
    assert scan.pending_message_ids("c1") == ()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my card is 4111 1111", "my card is •••• ••••"),
        ("IBAN FR76 3000", "IBAN •••• ••••"),
        ("no fragment here", "no fragment here"),
    ],
)
def test_mask_trailing_fragment(text: str, masked: str) -> None:
    assert mask_trailing_fragment(text) == masked


@pytest.mark.parametrize(
    ("text", "small_talk"),
    [
        ("wait", True),
        ("un instant", True),
        ("vänta lite", True),
        ("hang on, getting my card", True),
        ("Attendez, je cherche le reste du numéro", True),
        ("Ursäkta, jag letar efter kortet", True),
        ("and it has not arrived", False),  # five words, none says the customer is pausing
        ("It has not arrived yet, can you check?", False),  # eight words: a sentence
        ("wait 2 sec", True),  # a duration is not a fragment
        ("call me at 12", False),  # other digits: maybe part of something
        ("Sorry, I am still looking for the rest of my card number", False),  # too long to be a pause
    ],
)
def test_what_counts_as_small_talk(text: str, small_talk: bool) -> None:
    assert is_small_talk(text) is small_talk


@pytest.mark.parametrize(
    ("messages", "lang", "found"),
    [
        (["my SSN is", "536221847"], "en", [("US_SSN", "536221847")]),
        (["Mitt personnummer:", "8112189876"], "sv", [("SE_PERSONNUMMER", "8112189876")]),
        (["my SSN is", "wait", "536221847 thanks"], "en", [("US_SSN", "536221847")]),  # small talk keeps it
        (["my order number is", "536221847"], "en", []),  # the context says reference
        (["my SSN is", "one", "two", "536221847"], "en", []),  # context reaches back two messages only
    ],
)
def test_context_words_in_the_previous_message_count(
    messages: list[str], lang: str, found: list[tuple[str, str]], detector: Detector, clock: FixedClock
) -> None:
    results = send(scanner(detector, clock), messages, lang=lang)
    assert [(f[0], f[1]) for findings, _ in results for f in findings] == found
