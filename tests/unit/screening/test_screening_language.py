"""Language: given by the channel or detected; context scoring runs in it; nudges and block notices are in it, with
the links the caller builds."""

from __future__ import annotations

import pytest
from screening_support import MakeScreener, WritePolicy, uniform_policy

from securedesk import messages
from securedesk.detection import Detector
from securedesk.screening import Decision, LinkRequest, NudgeLinks

BASE = {
    "form_url": "https://desk.example/forms",
    "lookup_url": "https://desk.example/lookup",
    "callback_url": "https://desk.example/callback",
}


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Bonjour, ma carte est 4111 1111 1111 1111, merci beaucoup", "fr"),
        ("Hej, mitt kortnummer är 4111 1111 1111 1111, tack så mycket", "sv"),
        ("Hello, my card number is 4111 1111 1111 1111, thank you", "en"),
    ],
)
async def test_the_language_is_detected_and_the_nudge_speaks_it(
    text: str, lang: str, make_screener: MakeScreener
) -> None:
    screened = await make_screener().screen(text, channel="chat", lang=None, case_id=None, sender=None)

    assert screened.lang == lang
    assert screened.decision is Decision.DELIVER_WITH_NUDGE
    assert screened.nudge == messages.render("nudge.removed", lang, **BASE)


@pytest.mark.parametrize(("given", "lang"), [("fr", "fr"), ("sv-SE", "sv"), ("EN", "en"), ("fr_CA", "fr")])
async def test_the_channel_language_wins_over_detection(given: str, lang: str, make_screener: MakeScreener) -> None:
    screened = await make_screener().screen(
        "Hello, my card number is 4111 1111 1111 1111", channel="chat", lang=given, case_id=None, sender=None
    )

    assert screened.lang == lang
    assert screened.nudge == messages.render("nudge.removed", lang, **BASE)


async def test_an_unsupported_channel_language_falls_back_to_detection(make_screener: MakeScreener) -> None:
    screened = await make_screener().screen(
        "Bonjour, ma carte est 4111 1111 1111 1111, merci", channel="chat", lang="de", case_id=None, sender=None
    )

    assert screened.lang == "fr"


@pytest.mark.parametrize(("lang", "masked"), [(None, True), ("sv", True), ("en", False)])
async def test_context_scoring_runs_in_the_message_language(
    lang: str | None, masked: bool, make_screener: MakeScreener, write_policy: WritePolicy, detector: Detector
) -> None:
    # "personnumret" is a Swedish context word only: scored in Swedish the number scores higher than in English.
    text = "Hej! Här kommer personnumret 8112189876 som ni bad om"
    (english,) = detector.analyze(text, "en", min_score=0.0)
    (swedish,) = detector.analyze(text, "sv", min_score=0.0)
    assert swedish.score > english.score
    threshold = round((english.score + swedish.score) / 2, 4)
    screener = make_screener(write_policy(uniform_policy("redact", threshold=threshold)))

    screened = await screener.screen(text, channel="chat", lang=lang, case_id=None, sender=None)

    expected = "Hej! Här kommer personnumret [PERSONNUMMER •••• 9876] som ni bad om" if masked else text
    assert screened.text == expected


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "My card is 4111 1111 1111 1111 and my IBAN is GB82 WEST 1234 5698 7654 32"),
        ("fr", "Ma carte est 4111 1111 1111 1111 et mon IBAN GB82 WEST 1234 5698 7654 32, merci"),
        ("sv", "Mitt kort är 4111 1111 1111 1111 och mitt IBAN GB82 WEST 1234 5698 7654 32, tack"),
    ],
)
async def test_the_block_notice_names_what_was_found_in_the_sender_language(
    lang: str, text: str, make_screener: MakeScreener, write_policy: WritePolicy
) -> None:
    screener = make_screener(write_policy(uniform_policy("block")))

    screened = await screener.screen(text, channel="email", lang=None, case_id=None, sender="c@example.com")

    contents = messages.describe_entities(["CREDIT_CARD", "IBAN_CODE"], lang)
    assert screened.decision is Decision.BLOCK
    assert screened.block_notice == messages.render("block.refused", lang, contents=contents, **BASE)


async def test_a_link_builder_gets_the_context_and_its_links_are_used(make_screener: MakeScreener) -> None:
    requests: list[LinkRequest] = []

    def builder(request: LinkRequest) -> NudgeLinks:
        requests.append(request)
        return NudgeLinks(
            form_url="https://desk.example/forms/f_tok123", lookup_url="/lookup", callback_url="/callback?case=SD-1"
        )

    screened = await make_screener().screen(
        "Ma carte 4111 1111 1111 1111", channel="chat", lang="fr", case_id=None, sender=None, links=builder
    )

    assert requests == [LinkRequest("chat", "fr", None, None, ("CREDIT_CARD",))]
    assert screened.nudge == messages.render(
        "nudge.removed",
        "fr",
        form_url="https://desk.example/forms/f_tok123",
        lookup_url="/lookup",
        callback_url="/callback?case=SD-1",
    )


async def test_an_async_link_builder_is_awaited(make_screener: MakeScreener) -> None:
    async def builder(request: LinkRequest) -> NudgeLinks:
        return NudgeLinks("/forms/card", "/lookup", "/callback")

    screened = await make_screener().screen(
        "card 4111 1111 1111 1111", channel="chat", lang="en", case_id=None, sender=None, links=builder
    )

    assert screened.nudge == messages.render(
        "nudge.removed", "en", form_url="/forms/card", lookup_url="/lookup", callback_url="/callback"
    )


async def test_a_failing_link_builder_falls_back_to_the_generic_links(make_screener: MakeScreener) -> None:
    def builder(request: LinkRequest) -> NudgeLinks:
        raise RuntimeError("form service down")

    screened = await make_screener().screen(
        "card 4111 1111 1111 1111", channel="chat", lang="en", case_id=None, sender=None, links=builder
    )

    assert screened.decision is Decision.DELIVER_WITH_NUDGE
    assert screened.nudge == messages.render("nudge.removed", "en", **BASE)


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "", "forms"])
def test_nudge_links_must_be_urls_or_paths(bad: str) -> None:
    from securedesk.errors import InvalidInput

    with pytest.raises(InvalidInput):
        NudgeLinks(bad, "/lookup", "/callback")
