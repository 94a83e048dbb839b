"""Customer-facing texts in English, French and Swedish (nudges, block notices), rendered with links the caller built.

A catalogue keyed by message id and language. ``render`` refuses an unknown id or language and any missing, extra
or empty placeholder, so a text never reaches a customer with a hole or a stray ``{form_url}`` in it.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from securedesk.errors import MessageCatalogError

LANGUAGES: Final = ("en", "fr", "sv")

# French typography puts a no-break space before a colon.
_NBSP: Final = "\u00a0"

_CATALOGUE: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        # Sent (chat line, email auto-reply) when a number was removed from what the customer sent.
        "nudge.removed": MappingProxyType(
            {
                "en": (
                    "For your safety, we removed the number from your message. Please never send card or "
                    "social security numbers by chat or email. Instead, you can:\n"
                    "- enter it in our protected form: {form_url}\n"
                    "- look up your details after a quick identity check: {lookup_url}\n"
                    "- ask us to call you back: {callback_url}"
                ),
                "fr": (
                    "Pour votre sécurité, nous avons retiré le numéro de votre message. Merci de ne jamais envoyer "
                    f"de numéro de carte bancaire ou de sécurité sociale par chat ou par e-mail. À la place, vous "
                    f"pouvez{_NBSP}:\n"
                    f"- le saisir dans notre formulaire sécurisé{_NBSP}: {{form_url}}\n"
                    "- consulter vos informations après une vérification rapide de votre identité"
                    f"{_NBSP}: {{lookup_url}}\n"
                    f"- demander qu'un conseiller vous rappelle{_NBSP}: {{callback_url}}"
                ),
                "sv": (
                    "För din säkerhet har vi tagit bort numret från ditt meddelande. Skicka aldrig kortnummer eller "
                    "personnummer via chatt eller e-post. I stället kan du:\n"
                    "- ange det i vårt säkra formulär: {form_url}\n"
                    "- se dina uppgifter efter en snabb identitetskontroll: {lookup_url}\n"
                    "- be oss ringa upp dig: {callback_url}"
                ),
            }
        ),
        "nudge.subject": MappingProxyType(
            {
                "en": "About your message: a number was removed for your safety",
                "fr": f"Votre message{_NBSP}: un numéro a été retiré pour votre sécurité",
                "sv": "Ditt meddelande: ett nummer har tagits bort för din säkerhet",
            }
        ),
        # Sent when policy refused the whole message (action "block"). {contents} comes from describe_entities().
        "block.refused": MappingProxyType(
            {
                "en": (
                    "Your message was not delivered because it contained {contents}. For your safety, we cannot "
                    "accept such numbers by chat or email. Please send your message again without the number. "
                    "To give us the number safely, you can:\n"
                    "- enter it in our protected form: {form_url}\n"
                    "- look up your details after a quick identity check: {lookup_url}\n"
                    "- ask us to call you back: {callback_url}"
                ),
                "fr": (
                    "Votre message n'a pas été transmis, car il contenait {contents}. Pour votre sécurité, nous ne "
                    "pouvons pas accepter ce type de numéro par chat ou par e-mail. Merci de renvoyer votre message "
                    f"sans ce numéro. Pour nous le communiquer en toute sécurité, vous pouvez{_NBSP}:\n"
                    f"- le saisir dans notre formulaire sécurisé{_NBSP}: {{form_url}}\n"
                    "- consulter vos informations après une vérification rapide de votre identité"
                    f"{_NBSP}: {{lookup_url}}\n"
                    f"- demander qu'un conseiller vous rappelle{_NBSP}: {{callback_url}}"
                ),
                "sv": (
                    "Ditt meddelande har inte skickats vidare eftersom det innehöll {contents}. För din säkerhet kan "
                    "vi inte ta emot sådana nummer via chatt eller e-post. Skicka gärna meddelandet igen utan numret. "
                    "För att lämna numret på ett säkert sätt kan du:\n"
                    "- ange det i vårt säkra formulär: {form_url}\n"
                    "- se dina uppgifter efter en snabb identitetskontroll: {lookup_url}\n"
                    "- be oss ringa upp dig: {callback_url}"
                ),
            }
        ),
        "block.subject": MappingProxyType(
            {
                "en": "Your message was not delivered",
                "fr": "Votre message n'a pas été transmis",
                "sv": "Ditt meddelande har inte skickats vidare",
            }
        ),
        # The one-time code of a verified lookup (securedesk.customer.notifier), sent by email.
        "lookup.code": MappingProxyType(
            {
                "en": (
                    "Your verification code is {code}.\n\n"
                    "Enter it on the page where you asked for it. It is valid for {minutes} minutes and can be used "
                    "once.\n\n"
                    "If you did not ask for a code, you can ignore this message: nobody can see your details without "
                    "it. We will never ask you for this code by phone, chat or email."
                ),
                "fr": (
                    "Votre code de vérification est {code}.\n\n"
                    "Saisissez-le sur la page où vous l'avez demandé. Il est valable {minutes}"
                    f"{_NBSP}minutes et ne peut servir qu'une seule fois.\n\n"
                    "Si vous n'avez pas demandé de code, ignorez simplement ce message"
                    f"{_NBSP}: personne ne peut consulter vos informations sans ce code. Nous ne vous le demanderons "
                    "jamais par téléphone, par chat ou par e-mail."
                ),
                "sv": (
                    "Din verifieringskod är {code}.\n\n"
                    "Ange den på sidan där du begärde den. Koden gäller i {minutes} minuter och kan bara användas "
                    "en gång.\n\n"
                    "Om du inte har begärt någon kod kan du bortse från det här meddelandet: ingen kan se dina "
                    "uppgifter utan koden. Vi ber dig aldrig om den via telefon, chatt eller e-post."
                ),
            }
        ),
        "lookup.code_subject": MappingProxyType(
            {
                "en": "Your SecureDesk verification code",
                "fr": "Votre code de vérification SecureDesk",
                "sv": "Din verifieringskod från SecureDesk",
            }
        ),
    }
)

# What a message contained, with its indefinite article, for {contents}.
_ENTITY_NAMES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "CREDIT_CARD": MappingProxyType(
            {"en": "a payment card number", "fr": "un numéro de carte bancaire", "sv": "ett kortnummer"}
        ),
        "US_SSN": MappingProxyType(
            {
                "en": "a US Social Security number",
                "fr": "un numéro de sécurité sociale américain (SSN)",
                "sv": "ett amerikanskt socialförsäkringsnummer (SSN)",
            }
        ),
        "FR_NIR": MappingProxyType(
            {
                "en": "a French social security number (NIR)",
                "fr": "un numéro de sécurité sociale",
                "sv": "ett franskt socialförsäkringsnummer (NIR)",
            }
        ),
        "SE_PERSONNUMMER": MappingProxyType(
            {
                "en": "a Swedish personal identity number (personnummer)",
                "fr": "un numéro d'identité suédois (personnummer)",
                "sv": "ett personnummer",
            }
        ),
        "IBAN_CODE": MappingProxyType(
            {
                "en": "a bank account number (IBAN)",
                "fr": "un numéro de compte bancaire (IBAN)",
                "sv": "ett bankkontonummer (IBAN)",
            }
        ),
    }
)

_AND: Final[Mapping[str, str]] = MappingProxyType({"en": "and", "fr": "et", "sv": "och"})

MESSAGE_IDS: Final = tuple(_CATALOGUE)


def placeholders(message_id: str) -> frozenset[str]:
    """The placeholder names a message needs (the same in every language)."""
    template = _template(message_id, LANGUAGES[0])
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)


def render(message_id: str, lang: str, **values: str) -> str:
    """The text of ``message_id`` in ``lang`` with every placeholder filled; refuse anything missing or unexpected."""
    template = _template(message_id, lang)
    needed = placeholders(message_id)
    missing = sorted(needed - values.keys())
    extra = sorted(values.keys() - needed)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        raise MessageCatalogError(
            f"Message {message_id!r} cannot be rendered: {'; '.join(parts)}.",
            hint=f"it takes exactly: {', '.join(sorted(needed)) or 'no placeholders'}",
        )
    empty = sorted(name for name, value in values.items() if not isinstance(value, str) or not value.strip())
    if empty:
        raise MessageCatalogError(
            f"Message {message_id!r} cannot be rendered: {', '.join(empty)} must be non-empty text.",
            hint="build every link before rendering",
        )
    return template.format_map(values)


def describe_entities(entity_types: Iterable[str], lang: str) -> str:
    """A sentence fragment naming what a message contained: "a payment card number and a bank account number (IBAN)".

    Each type is named once, in the order first given.
    """
    _check_language(lang)
    names: list[str] = []
    for entity_type in dict.fromkeys(entity_types):
        localized = _ENTITY_NAMES.get(entity_type)
        if localized is None:
            raise MessageCatalogError(
                f"No customer-facing name for entity type {entity_type!r}.",
                hint=f"known types: {', '.join(_ENTITY_NAMES)}",
            )
        names.append(localized[lang])
    if not names:
        raise MessageCatalogError("describe_entities needs at least one entity type.")
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {_AND[lang]} {names[-1]}"


def _check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise MessageCatalogError(
            f"No customer-facing texts in language {lang!r}.",
            hint=f"use one of {', '.join(LANGUAGES)} (securedesk.language detects them)",
        )


def _template(message_id: str, lang: str) -> str:
    by_language = _CATALOGUE.get(message_id)
    if by_language is None:
        raise MessageCatalogError(f"Unknown message id {message_id!r}.", hint=f"known ids: {', '.join(MESSAGE_IDS)}")
    _check_language(lang)
    return by_language[lang]
