"""The customer-facing catalogue: every text in every language, strict placeholders, localized entity lists."""

from __future__ import annotations

import string

import pytest

from securedesk.errors import MessageCatalogError
from securedesk.language import LanguageDetector
from securedesk.messages import LANGUAGES, MESSAGE_IDS, describe_entities, placeholders, render
from securedesk.policy import ENTITY_TYPES

LINKS = {
    "form_url": "https://desk.example/f/abc",
    "lookup_url": "https://desk.example/lookup",
    "callback_url": "https://desk.example/callback",
}


def values_for(message_id: str, lang: str) -> dict[str, str]:
    values = {name: LINKS[name] for name in placeholders(message_id) if name in LINKS}
    if "contents" in placeholders(message_id):
        values["contents"] = describe_entities(["CREDIT_CARD"], lang)
    if "code" in placeholders(message_id):
        values["code"] = "482913"
    if "minutes" in placeholders(message_id):
        values["minutes"] = "10"
    return values


def test_catalogue_has_the_expected_ids_and_placeholders() -> None:
    assert set(MESSAGE_IDS) == {
        "nudge.removed",
        "nudge.subject",
        "block.refused",
        "block.subject",
        "lookup.code",
        "lookup.code_subject",
    }
    assert placeholders("lookup.code") == {"code", "minutes"}
    assert placeholders("nudge.removed") == {"form_url", "lookup_url", "callback_url"}
    assert placeholders("block.refused") == {"contents", "form_url", "lookup_url", "callback_url"}
    assert placeholders("nudge.subject") == frozenset()
    assert placeholders("block.subject") == frozenset()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("message_id", MESSAGE_IDS)
def test_every_language_has_the_same_placeholders(message_id: str, lang: str) -> None:
    from securedesk import messages

    template = messages._template(message_id, lang)
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    assert names == placeholders(message_id)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("message_id", MESSAGE_IDS)
def test_render_fills_every_placeholder(message_id: str, lang: str) -> None:
    text = render(message_id, lang, **values_for(message_id, lang))
    assert "{" not in text
    assert "}" not in text
    for name in placeholders(message_id) & LINKS.keys():
        assert LINKS[name] in text


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("message_id", ["nudge.removed", "block.refused"])
def test_each_text_reads_as_its_language(message_id: str, lang: str) -> None:
    detector = LanguageDetector.load()
    assert detector.detect(render(message_id, lang, **values_for(message_id, lang)))[0] == lang


def test_english_nudge_text() -> None:
    assert render("nudge.removed", "en", **LINKS) == (
        "For your safety, we removed the number from your message. Please never send card or social security "
        "numbers by chat or email. Instead, you can:\n"
        "- enter it in our protected form: https://desk.example/f/abc\n"
        "- look up your details after a quick identity check: https://desk.example/lookup\n"
        "- ask us to call you back: https://desk.example/callback"
    )


def test_french_uses_a_no_break_space_before_colons() -> None:
    text = render("nudge.removed", "fr", **LINKS)
    assert "formulaire sécurisé\u00a0: https://desk.example/f/abc" in text
    assert " :" not in text.replace("\u00a0:", "")


def test_swedish_block_text() -> None:
    text = render("block.refused", "sv", contents=describe_entities(["SE_PERSONNUMMER"], "sv"), **LINKS)
    assert text.startswith(
        "Ditt meddelande har inte skickats vidare eftersom det innehöll ett personnummer. "
        "För din säkerhet kan vi inte ta emot sådana nummer via chatt eller e-post."
    )
    assert text.endswith("- be oss ringa upp dig: https://desk.example/callback")


def test_values_are_inserted_literally() -> None:
    text = render("nudge.removed", "en", form_url="https://x/{callback_url}", lookup_url="l", callback_url="c")
    assert "https://x/{callback_url}" in text


@pytest.mark.parametrize(
    ("message_id", "lang", "values", "error"),
    [
        ("nudge.gone", "en", LINKS, "Unknown message id 'nudge.gone'"),
        ("nudge.removed", "de", LINKS, "No customer-facing texts in language 'de'"),
        ("nudge.removed", "EN", LINKS, "No customer-facing texts in language 'EN'"),
        ("nudge.removed", "fr-FR", LINKS, "No customer-facing texts in language 'fr-FR'"),
        ("nudge.removed", "en", {"form_url": "f", "lookup_url": "l"}, "missing callback_url"),
        ("nudge.removed", "sv", {**LINKS, "phone": "1"}, "unexpected phone"),
        ("nudge.subject", "fr", {"form_url": "f"}, "unexpected form_url"),
        ("block.refused", "en", LINKS, "missing contents"),
        ("nudge.removed", "en", {**LINKS, "lookup_url": " "}, "lookup_url must be non-empty text"),
    ],
)
def test_render_refuses(message_id: str, lang: str, values: dict[str, str], error: str) -> None:
    with pytest.raises(MessageCatalogError, match=error.replace("(", r"\(")):
        render(message_id, lang, **values)


@pytest.mark.parametrize(
    ("types", "lang", "expected"),
    [
        (["CREDIT_CARD"], "en", "a payment card number"),
        (["CREDIT_CARD", "IBAN_CODE"], "en", "a payment card number and a bank account number (IBAN)"),
        (
            ["US_SSN", "CREDIT_CARD", "US_SSN", "FR_NIR"],
            "en",
            "a US Social Security number, a payment card number and a French social security number (NIR)",
        ),
        (["CREDIT_CARD", "FR_NIR"], "fr", "un numéro de carte bancaire et un numéro de sécurité sociale"),
        (["SE_PERSONNUMMER"], "fr", "un numéro d'identité suédois (personnummer)"),
        (
            ["SE_PERSONNUMMER", "CREDIT_CARD", "IBAN_CODE"],
            "sv",
            "ett personnummer, ett kortnummer och ett bankkontonummer (IBAN)",
        ),
    ],
)
def test_describe_entities(types: list[str], lang: str, expected: str) -> None:
    assert describe_entities(types, lang) == expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_entity_type_has_a_name_in_every_language(lang: str) -> None:
    for entity in ENTITY_TYPES:
        assert describe_entities([entity], lang)


@pytest.mark.parametrize(
    ("types", "lang", "error"),
    [
        (["PASSPORT"], "en", "No customer-facing name for entity type 'PASSPORT'"),
        ([], "en", "at least one entity type"),
        (["CREDIT_CARD"], "de", "language 'de'"),
    ],
)
def test_describe_entities_refuses(types: list[str], lang: str, error: str) -> None:
    with pytest.raises(MessageCatalogError, match=error):
        describe_entities(types, lang)
