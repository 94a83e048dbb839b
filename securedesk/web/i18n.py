"""The web pages' interface texts in English, French and Swedish, and how each request's language is chosen.

Order: ``?lang=`` (links in nudges carry the customer's language), then the language cookie the switcher sets, then
``Accept-Language``, then English. Only a supported code is ever used, so nothing a client sends is reflected.
Customer messages (nudges, notices) live in ``securedesk.messages``; this module holds only page furniture.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from securedesk.errors import MessageCatalogError
from securedesk.messages import LANGUAGES
from securedesk.web.negotiation import weighted_values

DEFAULT_LANGUAGE: Final = "en"
#: ``__Host-``: Secure, path ``/``, no Domain — only this origin over HTTPS can set or read it.
LANGUAGE_COOKIE: Final = "__Host-securedesk-lang"
#: Each language named in itself, for the switcher.
LANGUAGE_NAMES: Final[Mapping[str, str]] = MappingProxyType({"en": "English", "fr": "Français", "sv": "Svenska"})


def _t(en: str, fr: str, sv: str) -> Mapping[str, str]:
    return MappingProxyType({"en": en, "fr": fr, "sv": sv})


_TEXTS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        "site.name": _t("SecureDesk", "SecureDesk", "SecureDesk"),
        "site.skip": _t("Skip to main content", "Aller au contenu principal", "Hoppa till huvudinnehållet"),
        "site.language": _t("Language", "Langue", "Språk"),
        "site.footer": _t(
            "SecureDesk screens every message for card and identity numbers before anyone reads it.",
            "SecureDesk vérifie chaque message à la recherche de numéros de carte et d'identité avant que "
            "quiconque ne le lise.",
            "SecureDesk granskar varje meddelande efter kort- och identitetsnummer innan någon läser det.",
        ),
        "landing.title": _t(
            "Contact support safely", "Contacter le support en toute sécurité", "Kontakta supporten säkert"
        ),
        "landing.intro": _t(
            "Everything you send us by chat or e-mail is screened before a person sees it. Payment card numbers, "
            "social security numbers, personal identity numbers and bank account numbers are removed automatically "
            "and kept only in encrypted form.",
            "Tout ce que vous nous envoyez par chat ou par e-mail est vérifié avant qu'une personne ne le voie. "
            "Les numéros de carte bancaire, de sécurité sociale, d'identité et de compte bancaire sont retirés "
            "automatiquement et conservés uniquement sous forme chiffrée.",
            "Allt du skickar till oss via chatt eller e-post granskas innan en människa ser det. Kortnummer, "
            "socialförsäkringsnummer, personnummer och bankkontonummer tas bort automatiskt och sparas bara i "
            "krypterad form.",
        ),
        "landing.advice_title": _t(
            "Please keep numbers out of messages",
            "Ne mettez pas de numéros dans vos messages",
            "Skriv inte nummer i meddelanden",
        ),
        "landing.advice": _t(
            "Never type a card number or an identity number in a chat or an e-mail. If we need one, we will send "
            "you a link to a protected form, or call you back.",
            "Ne saisissez jamais un numéro de carte ou d'identité dans un chat ou un e-mail. Si nous en avons "
            "besoin, nous vous enverrons le lien d'un formulaire sécurisé, ou nous vous rappellerons.",
            "Skriv aldrig ett kortnummer eller personnummer i en chatt eller ett e-postmeddelande. Om vi behöver "
            "det skickar vi en länk till ett skyddat formulär, eller så ringer vi upp dig.",
        ),
        "landing.how_title": _t(
            "How your data is protected", "Comment vos données sont protégées", "Så skyddas dina uppgifter"
        ),
        "landing.how_screen": _t(
            "Messages are checked for sensitive numbers in English, French and Swedish.",
            "Les messages sont vérifiés en anglais, en français et en suédois.",
            "Meddelanden granskas på engelska, franska och svenska.",
        ),
        "landing.how_encrypt": _t(
            "Removed numbers are encrypted; our agents see only the last four digits.",
            "Les numéros retirés sont chiffrés ; nos conseillers ne voient que les quatre derniers chiffres.",
            "Borttagna nummer krypteras; våra handläggare ser bara de fyra sista siffrorna.",
        ),
        "landing.how_audit": _t(
            "Every time a colleague needs to see a protected number, the reason is recorded.",
            "Chaque fois qu'un collègue doit voir un numéro protégé, le motif est enregistré.",
            "Varje gång en kollega behöver se ett skyddat nummer registreras skälet.",
        ),
        # --- staff sign-in (the rest of the staff interface is in English) ---
        "staff.login.title": _t("Staff login", "Connexion du personnel", "Inloggning för personal"),
        "staff.login.intro": _t(
            "Log in with your name, your password and the 6-digit code from your authenticator app.",
            "Connectez-vous avec votre identifiant, votre mot de passe et le code à 6 chiffres de votre application "
            "d'authentification.",
            "Logga in med ditt användarnamn, ditt lösenord och den sexsiffriga koden från din autentiseringsapp.",
        ),
        "staff.login.name": _t("Name", "Identifiant", "Användarnamn"),
        "staff.login.password": _t("Password", "Mot de passe", "Lösenord"),
        "staff.login.code": _t("Authenticator code", "Code d'authentification", "Kod från autentiseringsappen"),
        "staff.login.code_hint": _t(
            "The 6 digits your authenticator app shows now.",
            "Les 6 chiffres qu'affiche maintenant votre application d'authentification.",
            "De sex siffror som din autentiseringsapp visar just nu.",
        ),
        "staff.login.submit": _t("Log in", "Se connecter", "Logga in"),
        "staff.login.failed": _t(
            "Login failed: check your name, password and authenticator code.",
            "Échec de la connexion : vérifiez votre identifiant, votre mot de passe et le code d'authentification.",
            "Inloggningen misslyckades: kontrollera användarnamn, lösenord och kod.",
        ),
        "staff.login.throttled": _t(
            "Too many failed logins from your network. Wait a few minutes, then try again.",
            "Trop d'échecs de connexion depuis votre réseau. Patientez quelques minutes, puis réessayez.",
            "För många misslyckade inloggningar från ditt nätverk. Vänta några minuter och försök igen.",
        ),
        "staff.logout": _t("Log out", "Se déconnecter", "Logga ut"),
        "staff.signed_in_as": _t("Logged in as", "Connecté en tant que", "Inloggad som"),
        "staff.nav": _t("Staff pages", "Pages du personnel", "Personalsidor"),
        "staff.step_up.title": _t("Confirm it is you", "Confirmez votre identité", "Bekräfta att det är du"),
        "staff.step_up.intro": _t(
            "This action needs a fresh code from your authenticator app.",
            "Cette action nécessite un nouveau code de votre application d'authentification.",
            "Den här åtgärden kräver en ny kod från din autentiseringsapp.",
        ),
        "staff.step_up.submit": _t("Confirm", "Confirmer", "Bekräfta"),
        "staff.step_up.failed": _t(
            "The authenticator code was not accepted.",
            "Le code d'authentification n'a pas été accepté.",
            "Koden godtogs inte.",
        ),
        # --- the chat widget (chat_pages.py, static/chat.js) ---
        "chat.title": _t("Chat with us", "Discutez avec nous", "Chatta med oss"),
        "chat.intro": _t(
            "Please never type a card number or an identity number here: numbers are removed before anyone reads "
            "your message.",
            "Ne saisissez jamais de numéro de carte ou d'identité ici : les numéros sont retirés avant que "
            "quiconque ne lise votre message.",
            "Skriv aldrig kortnummer eller personnummer här: nummer tas bort innan någon läser ditt meddelande.",
        ),
        "chat.log": _t("Conversation", "Conversation", "Konversation"),
        "chat.message": _t("Your message", "Votre message", "Ditt meddelande"),
        "chat.message_hint": _t(
            "Press Enter to send, Shift+Enter for a new line.",
            "Appuyez sur Entrée pour envoyer, Maj+Entrée pour aller à la ligne.",
            "Tryck Enter för att skicka, Skift+Enter för ny rad.",
        ),
        "chat.send": _t("Send", "Envoyer", "Skicka"),
        "chat.you": _t("You", "Vous", "Du"),
        "chat.agent": _t("Agent", "Conseiller", "Handläggare"),
        "chat.notice": _t("Notice", "Information", "Information"),
        "chat.status.connecting": _t("Connecting…", "Connexion…", "Ansluter…"),
        "chat.status.online": _t("An agent is online.", "Un conseiller est en ligne.", "En handläggare är online."),
        "chat.status.offline": _t(
            "No agent is online right now: leave a message and we will answer as soon as we can.",
            "Aucun conseiller n'est en ligne pour le moment : laissez un message, nous vous répondrons dès que "
            "possible.",
            "Ingen handläggare är online just nu: lämna ett meddelande så svarar vi så snart vi kan.",
        ),
        "chat.status.closed": _t(
            "The chat is disconnected. Reload the page to continue.",
            "Le chat est déconnecté. Rechargez la page pour continuer.",
            "Chatten är frånkopplad. Ladda om sidan för att fortsätta.",
        ),
        "chat.error.held": _t(
            "Your message could not be checked, so it was not sent. Please try again in a moment.",
            "Votre message n'a pas pu être vérifié, il n'a donc pas été envoyé. Merci de réessayer dans un instant.",
            "Ditt meddelande kunde inte kontrolleras och skickades därför inte. Försök igen om en stund.",
        ),
        "chat.error.invalid": _t(
            "This message cannot be sent (it is empty or too long).",
            "Ce message ne peut pas être envoyé (il est vide ou trop long).",
            "Meddelandet kan inte skickas (det är tomt eller för långt).",
        ),
        "chat.error.not_sent": _t("Not sent", "Non envoyé", "Inte skickat"),
        "chat.noscript": _t(
            "The chat needs JavaScript. You can also write to us by e-mail.",
            "Le chat nécessite JavaScript. Vous pouvez aussi nous écrire par e-mail.",
            "Chatten kräver JavaScript. Du kan också skriva till oss via e-post.",
        ),
        "error.request_id": _t("Reference", "Référence", "Referens"),
        "error.home": _t("Back to the start page", "Retour à la page d'accueil", "Tillbaka till startsidan"),
        "error.400.title": _t("Bad request", "Requête incorrecte", "Felaktig begäran"),
        "error.400.body": _t("The request was malformed.", "La requête est mal formée.", "Begäran var felaktig."),
        "error.401.title": _t("Sign-in required", "Connexion requise", "Inloggning krävs"),
        "error.401.body": _t("Invalid credentials.", "Identifiants invalides.", "Ogiltiga inloggningsuppgifter."),
        "error.403.title": _t("Not permitted", "Action non autorisée", "Inte tillåtet"),
        "error.403.body": _t(
            "You do not have permission to do this.",
            "Vous n'avez pas l'autorisation de faire cela.",
            "Du har inte behörighet att göra detta.",
        ),
        "error.404.title": _t("Page not found", "Page introuvable", "Sidan hittades inte"),
        "error.404.body": _t(
            "There is nothing at this address.",
            "Il n'y a rien à cette adresse.",
            "Det finns inget på den här adressen.",
        ),
        "error.405.title": _t("Method not allowed", "Méthode non autorisée", "Metoden är inte tillåten"),
        "error.405.body": _t(
            "This address does not accept that kind of request.",
            "Cette adresse n'accepte pas ce type de requête.",
            "Den här adressen tar inte emot den sortens begäran.",
        ),
        "error.413.title": _t("Request too large", "Requête trop volumineuse", "Begäran är för stor"),
        "error.413.body": _t("The request is too large.", "La requête est trop volumineuse.", "Begäran är för stor."),
        "error.422.title": _t("Request refused", "Requête refusée", "Begäran avvisades"),
        "error.422.body": _t(
            "The request could not be accepted.", "La requête n'a pas pu être acceptée.", "Begäran kunde inte godtas."
        ),
        "error.429.title": _t("Too many requests", "Trop de requêtes", "För många förfrågningar"),
        "error.429.body": _t(
            "Too many requests. Please wait and try again.",
            "Trop de requêtes. Merci de patienter puis de réessayer.",
            "För många förfrågningar. Vänta en stund och försök igen.",
        ),
        "error.500.title": _t("Something went wrong", "Une erreur est survenue", "Något gick fel"),
        "error.500.body": _t(
            "Internal error. Please try again later.",
            "Erreur interne. Merci de réessayer plus tard.",
            "Internt fel. Försök igen senare.",
        ),
        "error.503.title": _t("Service unavailable", "Service indisponible", "Tjänsten är inte tillgänglig"),
        "error.503.body": _t(
            "The service is unavailable. Please try again later.",
            "Le service est indisponible. Merci de réessayer plus tard.",
            "Tjänsten är inte tillgänglig. Försök igen senare.",
        ),
    }
)

TEXT_IDS: Final = tuple(_TEXTS)


def text(text_id: str, lang: str) -> str:
    """One interface text in ``lang``; an unknown id or language is a bug and raises ``MessageCatalogError``."""
    by_language = _TEXTS.get(text_id)
    if by_language is None:
        raise MessageCatalogError(f"Unknown interface text {text_id!r}.", hint="add it to securedesk/web/i18n.py")
    if lang not in by_language:
        raise MessageCatalogError(
            f"No interface texts in language {lang!r}.", hint=f"use one of {', '.join(LANGUAGES)}"
        )
    return by_language[lang]


def has_text(text_id: str) -> bool:
    return text_id in _TEXTS


def supported(lang: str | None) -> str | None:
    """``lang`` if it names a supported language (``"fr"``, ``"fr-CA"``, ``"SV"``), as its base code; else None."""
    if not lang:
        return None
    base = lang.strip().split("-", 1)[0].split("_", 1)[0].lower()
    return base if base in LANGUAGES else None


def parse_accept_language(header: str) -> list[str]:
    """Supported base codes from an ``Accept-Language`` header, best first (by q, then by order), no repeats."""
    ranked = sorted(
        (-quality, index, code)
        for index, (tag, quality) in enumerate(weighted_values(header))
        if quality > 0 and (code := supported(tag)) is not None
    )
    return list(dict.fromkeys(code for _, _, code in ranked))


def choose_language(*, query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (supported(query), supported(cookie)):
        if candidate is not None:
            return candidate
    preferred = parse_accept_language(accept_language or "")
    return preferred[0] if preferred else DEFAULT_LANGUAGE
