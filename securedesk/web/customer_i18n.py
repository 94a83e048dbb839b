"""The customer pages' texts in English, French and Swedish: protected forms, verified lookup, self-service and
call-backs, and the text of every field error code the customer layer reports (``ValidationFailed``).

Kept apart from ``i18n`` (site furniture) so that each catalogue stays readable; the same rules apply: an unknown id
or language is a bug (``MessageCatalogError``), placeholders are filled by ``str.format`` with values we built.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from securedesk.errors import MessageCatalogError

_NBSP: Final = "\u00a0"


def _t(en: str, fr: str, sv: str) -> Mapping[str, str]:
    return MappingProxyType({"en": en, "fr": fr, "sv": sv})


_TEXTS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        # --- shared ---
        "customer.optional": _t("(optional)", "(facultatif)", "(frivilligt)"),
        "customer.errors_title": _t(
            "Please check the field marked below.",
            "Merci de vérifier le champ signalé ci-dessous.",
            "Kontrollera fältet som är markerat nedan.",
        ),
        "customer.not_echoed": _t(
            "For your safety, what you typed is never shown again: please enter it once more.",
            f"Pour votre sécurité, ce que vous avez saisi n'est jamais réaffiché{_NBSP}: merci de le saisir à nouveau.",
            "För din säkerhet visas det du skrev aldrig igen: ange det en gång till.",
        ),
        "customer.other_paths": _t("Other ways to reach us", "Autres moyens de nous joindre", "Andra sätt att nå oss"),
        "customer.go_lookup": _t("Look up your case", "Consulter votre dossier", "Se ditt ärende"),
        "customer.go_callback": _t("Ask us to call you back", "Demander à être rappelé", "Be oss ringa upp dig"),
        "customer.home": _t("Back to the start page", "Retour à la page d'accueil", "Tillbaka till startsidan"),
        # --- protected forms ---
        "forms.index.title": _t("Protected forms", "Formulaires sécurisés", "Skyddade formulär"),
        "forms.index.body": _t(
            "When we need a card number, an identity number or bank details from you, an agent sends you a personal "
            "link to a protected form. Open the link you received: it works once and expires after 24 hours.",
            "Lorsque nous avons besoin d'un numéro de carte, d'un numéro d'identité ou de vos coordonnées bancaires, "
            "un conseiller vous envoie un lien personnel vers un formulaire sécurisé. Ouvrez le lien que vous avez "
            f"reçu{_NBSP}: il ne fonctionne qu'une fois et expire au bout de 24{_NBSP}heures.",
            "När vi behöver ett kortnummer, ett identitetsnummer eller dina bankuppgifter skickar en handläggare en "
            "personlig länk till ett skyddat formulär. Öppna länken du fick: den fungerar en gång och slutar gälla "
            "efter 24 timmar.",
        ),
        "form.title.card": _t(
            "Update your payment card", "Mettre à jour votre carte bancaire", "Uppdatera ditt betalkort"
        ),
        "form.title.national_id": _t("Confirm your identity", "Confirmer votre identité", "Bekräfta din identitet"),
        "form.title.iban": _t("Your bank details", "Vos coordonnées bancaires", "Dina bankuppgifter"),
        "form.intro": _t(
            "This page is for case {reference}. What you enter here is encrypted at once; our agents see only the "
            "last four characters.",
            "Cette page concerne le dossier {reference}. Ce que vous saisissez ici est chiffré "
            f"immédiatement{_NBSP}; nos conseillers n'en voient que les quatre derniers caractères.",
            "Den här sidan gäller ärende {reference}. Det du anger här krypteras direkt; våra handläggare ser bara de "
            "fyra sista tecknen.",
        ),
        "form.expires": _t(
            "This link works once and expires on {expires} (UTC).",
            "Ce lien ne fonctionne qu'une fois et expire le {expires} (UTC).",
            "Länken fungerar en gång och slutar gälla {expires} (UTC).",
        ),
        "form.card_number": _t("Card number", "Numéro de carte", "Kortnummer"),
        "form.card_hint": _t(
            "The 12 to 19 digits on the front of your card. Spaces are fine.",
            "Les 12 à 19 chiffres inscrits au recto de votre carte. Les espaces sont acceptés.",
            "De 12 till 19 siffrorna på kortets framsida. Mellanslag går bra.",
        ),
        "form.cvv_title": _t(
            "Why we do not ask for the security code",
            "Pourquoi nous ne demandons pas le cryptogramme",
            "Varför vi inte frågar efter säkerhetskoden",
        ),
        "form.cvv_body": _t(
            "Never give anyone the 3- or 4-digit security code (CVV) on the back of your card. We do not need it, we "
            "do not accept it, and we never store it.",
            "Ne communiquez jamais à personne le cryptogramme visuel (les 3 ou 4 chiffres au dos de votre carte). "
            "Nous n'en avons pas besoin, nous ne l'acceptons pas et nous ne le conservons jamais.",
            "Lämna aldrig ut den tre- eller fyrsiffriga säkerhetskoden (CVV) på kortets baksida till någon. Vi "
            "behöver den inte, vi tar inte emot den och vi sparar den aldrig.",
        ),
        "form.id_type": _t("Type of number", "Type de numéro", "Typ av nummer"),
        "form.id_type.choose": _t("Choose…", "Choisissez…", "Välj …"),
        "form.id_type.us_ssn": _t(
            "US Social Security number (SSN)",
            "Numéro de sécurité sociale américain (SSN)",
            "Amerikanskt socialförsäkringsnummer (SSN)",
        ),
        "form.id_type.fr_nir": _t(
            "French social security number (NIR)",
            "Numéro de sécurité sociale (NIR)",
            "Franskt socialförsäkringsnummer (NIR)",
        ),
        "form.id_type.se_personnummer": _t(
            "Swedish personal identity number (personnummer)",
            "Numéro d'identité suédois (personnummer)",
            "Personnummer",
        ),
        "form.national_id": _t("Number", "Numéro", "Nummer"),
        "form.national_id_hint": _t(
            "As written on your card or documents; spaces and dashes are fine.",
            f"Tel qu'il figure sur votre carte ou vos documents{_NBSP}; les espaces et les tirets sont acceptés.",
            "Som det står på ditt kort eller dina handlingar; mellanslag och bindestreck går bra.",
        ),
        "form.iban": _t("IBAN", "IBAN", "IBAN"),
        "form.iban_hint": _t(
            "Your international bank account number, starting with the country code (for example FR76 …).",
            "Votre numéro de compte bancaire international, qui commence par le code du pays (par exemple FR76 …).",
            "Ditt internationella bankkontonummer, som börjar med landskoden (till exempel SE45 …).",
        ),
        "form.submit": _t("Send securely", "Envoyer en toute sécurité", "Skicka säkert"),
        "form.done.title": _t("Thank you", "Merci", "Tack"),
        "form.done.body": _t(
            "We received it safely for case {reference}: {mask}. This link cannot be used again.",
            f"Nous l'avons bien reçu, en toute sécurité, pour le dossier {{reference}}{_NBSP}: {{mask}}. Ce lien ne "
            "peut plus être utilisé.",
            "Vi har tagit emot det säkert för ärende {reference}: {mask}. Länken kan inte användas igen.",
        ),
        "form.refused": _t(
            "We cannot accept this through a form at the moment. Please contact us.",
            "Nous ne pouvons pas accepter cette information par formulaire pour le moment. Merci de nous contacter.",
            "Vi kan inte ta emot detta via formulär just nu. Kontakta oss.",
        ),
        "link.invalid.title": _t("This link is not valid", "Ce lien n'est pas valide", "Länken är inte giltig"),
        "link.invalid.body": _t(
            "Check that you copied the whole link from the message we sent you. If it still does not work, ask us "
            "for a new one.",
            "Vérifiez que vous avez copié le lien en entier depuis le message que nous vous avons envoyé. S'il ne "
            "fonctionne toujours pas, demandez-nous-en un nouveau.",
            "Kontrollera att du har kopierat hela länken från meddelandet vi skickade. Om den ändå inte fungerar kan "
            "du be oss om en ny.",
        ),
        "link.gone.title": _t(
            "This link can no longer be used", "Ce lien ne peut plus être utilisé", "Länken kan inte längre användas"
        ),
        "link.gone.body": _t(
            "For your safety, each link works only once and only for a limited time. If you still need to send us "
            "something, ask us for a new link.",
            "Pour votre sécurité, chaque lien ne fonctionne qu'une fois et pendant une durée limitée. Si vous devez "
            "encore nous transmettre quelque chose, demandez-nous un nouveau lien.",
            "För din säkerhet fungerar varje länk bara en gång och under en begränsad tid. Om du fortfarande behöver "
            "skicka något till oss kan du be om en ny länk.",
        ),
        # --- verified lookup ---
        "lookup.title": _t("Look up your case", "Consulter votre dossier", "Se ditt ärende"),
        "lookup.intro": _t(
            "Enter the email address you wrote to us from, or your case reference (SD-…). If we find it, we send a "
            "6-digit code to that address.",
            "Saisissez l'adresse e-mail avec laquelle vous nous avez écrit, ou la référence de votre dossier (SD-…). "
            f"Si nous la trouvons, nous envoyons un code à 6{_NBSP}chiffres à cette adresse.",
            "Ange e-postadressen du skrev till oss från, eller ditt ärendenummer (SD-…). Om vi hittar den skickar vi "
            "en sexsiffrig kod till den adressen.",
        ),
        "lookup.identifier": _t(
            "Email address or case reference",
            "Adresse e-mail ou référence du dossier",
            "E-postadress eller ärendenummer",
        ),
        "lookup.submit": _t("Send me a code", "M'envoyer un code", "Skicka en kod"),
        "lookup.verify.title": _t("Enter your code", "Saisissez votre code", "Ange din kod"),
        "lookup.verify.intro": _t(
            "If the address or reference you gave is known to us, we have sent a 6-digit code to the email address "
            "we have on file. It is valid for {minutes} minutes, once, and only in this browser.",
            "Si l'adresse ou la référence indiquée nous est connue, nous avons envoyé un code à 6\u00a0chiffres à "
            f"l'adresse e-mail enregistrée. Il est valable {{minutes}}{_NBSP}minutes, une seule fois et uniquement "
            "dans ce navigateur.",
            "Om adressen eller ärendenumret du angav finns hos oss har vi skickat en sexsiffrig kod till den "
            "registrerade e-postadressen. Den gäller i {minutes} minuter, en gång och bara i den här webbläsaren.",
        ),
        "lookup.code": _t("6-digit code", "Code à 6 chiffres", "Sexsiffrig kod"),
        "lookup.verify.submit": _t("Continue", "Continuer", "Fortsätt"),
        "lookup.restart": _t("Ask for a new code", "Demander un nouveau code", "Begär en ny kod"),
        "lookup.code_wrong": _t(
            "This code is not correct. Attempts left: {left}.",
            f"Ce code n'est pas correct. Essais restants{_NBSP}: {{left}}.",
            "Koden är inte korrekt. Försök kvar: {left}.",
        ),
        "lookup.locked.title": _t("Too many wrong codes", "Trop de codes erronés", "För många felaktiga koder"),
        "lookup.locked.body": _t(
            "For your safety, this code can no longer be used. Ask for a new code.",
            "Pour votre sécurité, ce code ne peut plus être utilisé. Demandez un nouveau code.",
            "För din säkerhet kan koden inte längre användas. Begär en ny kod.",
        ),
        "lookup.expired.title": _t("Your code has expired", "Votre code a expiré", "Koden har gått ut"),
        "lookup.expired.body": _t(
            "Codes are valid for a short time, once, and only in the browser where you asked for them. Ask for a "
            "new code.",
            "Les codes sont valables peu de temps, une seule fois et uniquement dans le navigateur où vous les avez "
            "demandés. Demandez un nouveau code.",
            "Koderna gäller en kort stund, en gång och bara i webbläsaren där du begärde dem. Begär en ny kod.",
        ),
        "throttle.title": _t("Please wait a moment", "Merci de patienter un instant", "Vänta en stund"),
        "throttle.body": _t(
            "We received too many requests from you or for this address. Try again in {minutes} minutes.",
            "Nous avons reçu trop de demandes de votre part ou pour cette adresse. Réessayez dans "
            f"{{minutes}}{_NBSP}minutes.",
            "Vi har fått för många förfrågningar från dig eller för den här adressen. Försök igen om {minutes} "
            "minuter.",
        ),
        # --- the verified customer's session ---
        "session.title": _t("Your cases", "Vos dossiers", "Dina ärenden"),
        "session.intro": _t(
            "You are verified until {time} (UTC). For your safety, numbers on file show only their last four digits.",
            "Votre identité est vérifiée jusqu'à {time} (UTC). Pour votre sécurité, les numéros enregistrés "
            "n'affichent que leurs quatre derniers chiffres.",
            "Du är verifierad till {time} (UTC). För din säkerhet visas bara de fyra sista siffrorna i sparade nummer.",
        ),
        "session.expired": _t(
            "Your session has ended. Verify again to continue.",
            "Votre session a pris fin. Vérifiez à nouveau votre identité pour continuer.",
            "Din session har avslutats. Verifiera dig igen för att fortsätta.",
        ),
        "session.none": _t(
            "We found no cases for you.",
            "Nous n'avons trouvé aucun dossier à votre nom.",
            "Vi hittade inga ärenden för dig.",
        ),
        "session.case": _t("Case {reference}", "Dossier {reference}", "Ärende {reference}"),
        "session.status": _t("Status", "Statut", "Status"),
        "session.updated": _t("Last update", "Dernière mise à jour", "Senast uppdaterat"),
        "session.items": _t("On file", "Enregistré", "Sparat"),
        "session.item_on_file": _t("{mask} on file", "{mask} enregistré", "{mask} sparat"),
        "session.no_items": _t("Nothing on file.", "Rien n'est enregistré.", "Inget sparat."),
        "session.callbacks": _t("Call-backs", "Rappels", "Återuppringningar"),
        "session.other": _t("Not linked to a case", "Sans dossier", "Inte kopplat till ett ärende"),
        "session.add_message": _t("Add a message", "Ajouter un message", "Lägg till ett meddelande"),
        "session.message": _t("Your message", "Votre message", "Ditt meddelande"),
        "session.message_hint": _t(
            "Please do not type card or identity numbers here: we would remove them.",
            f"Merci de ne pas saisir de numéro de carte ou d'identité ici{_NBSP}: nous les retirerions.",
            "Skriv inte kort- eller identitetsnummer här: vi skulle ta bort dem.",
        ),
        "session.send": _t("Send", "Envoyer", "Skicka"),
        "session.request_callback": _t("Ask us to call you back", "Demander à être rappelé", "Be oss ringa upp dig"),
        "session.end": _t("End session", "Terminer la session", "Avsluta sessionen"),
        "status.open": _t("Open", "Ouvert", "Öppet"),
        "status.pending": _t("Waiting for your reply", "En attente de votre réponse", "Väntar på ditt svar"),
        "status.closed": _t("Closed", "Clos", "Avslutat"),
        "cbstatus.requested": _t("Requested", "Demandé", "Begärd"),
        "cbstatus.claimed": _t(
            "An agent is about to call you", "Un conseiller va vous appeler", "En handläggare ringer dig snart"
        ),
        "cbstatus.done": _t("Done", "Effectué", "Genomförd"),
        "cbstatus.no_answer": _t(
            "We could not reach you; we will try again",
            f"Nous n'avons pas pu vous joindre{_NBSP}; nous réessaierons",
            "Vi nådde dig inte; vi försöker igen",
        ),
        "cbstatus.rescheduled": _t("Moved to a new time", "Reporté à un autre moment", "Flyttad till en ny tid"),
        "notice.message_sent": _t(
            "Your message was added to your case.",
            "Votre message a été ajouté à votre dossier.",
            "Ditt meddelande har lagts till i ditt ärende.",
        ),
        "notice.message_masked": _t(
            "For your safety, we removed a number from your message.",
            "Pour votre sécurité, nous avons retiré un numéro de votre message.",
            "För din säkerhet har vi tagit bort ett nummer från ditt meddelande.",
        ),
        "notice.callback_requested": _t(
            "Your call-back request was received.",
            "Votre demande de rappel a bien été reçue.",
            "Vi har tagit emot din begäran om återuppringning.",
        ),
        # --- call-backs ---
        "callback.title": _t("Ask us to call you back", "Demander à être rappelé", "Be oss ringa upp dig"),
        "callback.intro": _t(
            "Leave your phone number and a time that suits you, and one of our agents will call you.",
            f"Indiquez votre numéro de téléphone et un moment qui vous convient{_NBSP}: un conseiller vous rappellera.",
            "Lämna ditt telefonnummer och en tid som passar dig, så ringer en handläggare upp dig.",
        ),
        "callback.for_case": _t(
            "About case {reference}.", "Concernant le dossier {reference}.", "Gäller ärende {reference}."
        ),
        "callback.case": _t("Case", "Dossier", "Ärende"),
        "callback.no_case": _t("Not about a particular case", "Sans dossier particulier", "Inget särskilt ärende"),
        "callback.phone": _t("Phone number", "Numéro de téléphone", "Telefonnummer"),
        "callback.phone_region": _t("Country", "Pays", "Land"),
        "callback.phone_hint": _t(
            "We use it only to call you back; our agents see only its last digits until they call.",
            f"Nous l'utilisons uniquement pour vous rappeler{_NBSP}; nos conseillers n'en voient que les derniers "
            "chiffres jusqu'à l'appel.",
            "Vi använder det bara för att ringa upp dig; våra handläggare ser bara de sista siffrorna tills de ringer.",
        ),
        "region.FR": _t("France (+33)", "France (+33)", "Frankrike (+33)"),
        "region.SE": _t("Sweden (+46)", "Suède (+46)", "Sverige (+46)"),
        "region.US": _t("United States (+1)", "États-Unis (+1)", "USA (+1)"),
        "region.INTL": _t(
            "Another country (enter the number with its + code)",
            "Autre pays (saisissez le numéro avec son indicatif +…)",
            "Annat land (ange numret med landsnummer, +…)",
        ),
        "callback.when": _t("When may we call?", f"Quand pouvons-nous vous appeler{_NBSP}?", "När får vi ringa?"),
        "callback.date": _t("Day", "Jour", "Dag"),
        "callback.start": _t("From", "De", "Från"),
        "callback.end": _t("Until", "À", "Till"),
        "callback.time_zone": _t("Your time zone", "Votre fuseau horaire", "Din tidszon"),
        "callback.lang": _t("Language of the call", "Langue de l'appel", "Samtalsspråk"),
        "callback.topic": _t("What is it about?", f"À quel sujet{_NBSP}?", "Vad gäller det?"),
        "callback.submit": _t("Request a call-back", "Demander un rappel", "Begär återuppringning"),
        "callback.done.title": _t("We will call you", "Nous vous rappellerons", "Vi ringer dig"),
        "callback.done.body": _t(
            "Your request {reference} is in our queue. We will call {mask} during {window}.",
            "Votre demande {reference} est enregistrée. Nous appellerons le {mask} pendant le créneau {window}.",
            "Din begäran {reference} ligger i vår kö. Vi ringer {mask} under tiden {window}.",
        ),
        # --- field errors (codes from securedesk.customer) ---
        "error.invalid": _t("Please check this field.", "Merci de vérifier ce champ.", "Kontrollera det här fältet."),
        "error.required": _t("Please fill in this field.", "Merci de remplir ce champ.", "Fyll i det här fältet."),
        "error.too_long": _t("This is too long.", "C'est trop long.", "Det är för långt."),
        "error.card.format": _t(
            "A card number has 12 to 19 digits.",
            "Un numéro de carte comporte de 12 à 19 chiffres.",
            "Ett kortnummer har 12 till 19 siffror.",
        ),
        "error.card.checksum": _t(
            "This card number is not valid: please check the digits.",
            f"Ce numéro de carte n'est pas valide{_NBSP}: vérifiez les chiffres.",
            "Kortnumret är inte giltigt: kontrollera siffrorna.",
        ),
        "error.card.brand": _t(
            "We do not recognize this type of card.",
            "Nous ne reconnaissons pas ce type de carte.",
            "Vi känner inte igen den här korttypen.",
        ),
        "error.id_type.required": _t(
            "Choose the type of number.", "Choisissez le type de numéro.", "Välj typ av nummer."
        ),
        "error.ssn.format": _t(
            "A Social Security number has 9 digits (AAA-GG-SSSS).",
            "Un numéro SSN comporte 9 chiffres (AAA-GG-SSSS).",
            "Ett SSN har 9 siffror (AAA-GG-SSSS).",
        ),
        "error.ssn.invalid": _t(
            "This is not a valid Social Security number.",
            "Ce numéro SSN n'est pas valide.",
            "Det här är inte ett giltigt SSN.",
        ),
        "error.nir.format": _t(
            "A French social security number has 13 characters and a 2-digit key.",
            "Un numéro de sécurité sociale comporte 13 caractères suivis d'une clé de 2 chiffres.",
            "Ett franskt socialförsäkringsnummer har 13 tecken och en tvåsiffrig kontrollnyckel.",
        ),
        "error.nir.key": _t(
            "The key does not match this number: please check it.",
            f"La clé ne correspond pas à ce numéro{_NBSP}: merci de le vérifier.",
            "Kontrollnyckeln stämmer inte med numret: kontrollera det.",
        ),
        "error.pnr.format": _t(
            "Enter the personnummer as YYMMDD-NNNN or YYYYMMDD-NNNN.",
            "Saisissez le personnummer sous la forme AAMMJJ-NNNN ou AAAAMMJJ-NNNN.",
            "Ange personnumret som ÅÅMMDD-NNNN eller ÅÅÅÅMMDD-NNNN.",
        ),
        "error.pnr.date": _t(
            "The date of birth in this number does not exist.",
            "La date de naissance de ce numéro n'existe pas.",
            "Födelsedatumet i numret finns inte.",
        ),
        "error.pnr.checksum": _t(
            "The last digit does not match: please check the number.",
            f"Le dernier chiffre ne correspond pas{_NBSP}: merci de vérifier le numéro.",
            "Kontrollsiffran stämmer inte: kontrollera numret.",
        ),
        "error.iban.format": _t(
            "An IBAN starts with a country code and two digits.",
            "Un IBAN commence par un code pays suivi de deux chiffres.",
            "Ett IBAN börjar med en landskod och två siffror.",
        ),
        "error.iban.country": _t(
            "We do not know IBANs from this country.",
            "Nous ne connaissons pas d'IBAN pour ce pays.",
            "Vi känner inte till IBAN från det här landet.",
        ),
        "error.iban.length": _t(
            "This IBAN does not have the right length for its country.",
            "Cet IBAN n'a pas la bonne longueur pour son pays.",
            "IBAN-numret har fel längd för sitt land.",
        ),
        "error.iban.checksum": _t(
            "This IBAN is not valid: please check it.",
            f"Cet IBAN n'est pas valide{_NBSP}: merci de le vérifier.",
            "IBAN-numret är inte giltigt: kontrollera det.",
        ),
        "error.identifier.required": _t(
            "Enter your email address or your case reference.",
            "Saisissez votre adresse e-mail ou la référence de votre dossier.",
            "Ange din e-postadress eller ditt ärendenummer.",
        ),
        "error.identifier.invalid": _t(
            "Enter an email address, or a case reference such as SD-BCD234.",
            "Saisissez une adresse e-mail ou une référence de dossier, par exemple SD-BCD234.",
            "Ange en e-postadress eller ett ärendenummer, till exempel SD-BCD234.",
        ),
        "error.message.required": _t(
            "Write your message first.", "Écrivez d'abord votre message.", "Skriv ditt meddelande först."
        ),
        "error.message.too_long": _t(
            "Your message is too long (4,000 characters at most).",
            f"Votre message est trop long (4{_NBSP}000 caractères au maximum).",
            f"Ditt meddelande är för långt (högst 4{_NBSP}000 tecken).",
        ),
        "error.message.blocked": _t(
            "Your message contains a number we cannot accept here. Remove it, or use a protected form.",
            "Votre message contient un numéro que nous ne pouvons pas accepter ici. Retirez-le ou utilisez un "
            "formulaire sécurisé.",
            "Ditt meddelande innehåller ett nummer som vi inte kan ta emot här. Ta bort det eller använd ett "
            "skyddat formulär.",
        ),
        "error.message.held": _t(
            "We could not check your message just now. Please try again in a moment.",
            "Nous n'avons pas pu vérifier votre message pour le moment. Merci de réessayer dans un instant.",
            "Vi kunde inte kontrollera ditt meddelande just nu. Försök igen om en stund.",
        ),
        "error.topic.too_long": _t(
            "Please keep it under 500 characters.",
            "Merci de rester sous les 500 caractères.",
            "Håll det under 500 tecken.",
        ),
        "error.topic.blocked": _t(
            "Please remove the number from this field: we cannot accept it here.",
            f"Merci de retirer le numéro de ce champ{_NBSP}: nous ne pouvons pas l'accepter ici.",
            "Ta bort numret från fältet: vi kan inte ta emot det här.",
        ),
        "error.topic.held": _t(
            "We could not check this text just now. Please try again in a moment.",
            "Nous n'avons pas pu vérifier ce texte pour le moment. Merci de réessayer dans un instant.",
            "Vi kunde inte kontrollera texten just nu. Försök igen om en stund.",
        ),
        "error.phone.required": _t(
            "Enter your phone number.", "Saisissez votre numéro de téléphone.", "Ange ditt telefonnummer."
        ),
        "error.phone.invalid": _t(
            "This is not a valid phone number for the country you chose.",
            "Ce numéro n'est pas valide pour le pays choisi.",
            "Numret är inte giltigt för det land du valde.",
        ),
        "error.phone.region": _t(
            "Choose the country, or enter the number with its + code.",
            "Choisissez le pays, ou saisissez le numéro avec son indicatif +…",
            "Välj land, eller ange numret med landsnummer (+…).",
        ),
        "error.phone.premium": _t(
            "We cannot call premium-rate or shared-cost numbers.",
            "Nous ne pouvons pas appeler les numéros surtaxés ou à coût partagé.",
            "Vi kan inte ringa betalnummer eller nummer med delad kostnad.",
        ),
        "error.window.tz": _t("Choose your time zone.", "Choisissez votre fuseau horaire.", "Välj din tidszon."),
        "error.window.date": _t("Choose a day.", "Choisissez un jour.", "Välj en dag."),
        "error.window.time": _t(
            "Enter a time that exists on that day (HH:MM).",
            "Indiquez une heure qui existe ce jour-là (HH:MM).",
            "Ange en tid som finns den dagen (TT:MM).",
        ),
        "error.window.order": _t(
            "The end must come after the start.",
            "La fin doit venir après le début.",
            "Slutet måste komma efter starten.",
        ),
        "error.window.too_short": _t(
            "Give us at least 30 minutes.", "Laissez-nous au moins 30 minutes.", "Ge oss minst 30 minuter."
        ),
        "error.window.too_long": _t(
            "Choose a window of at most 12 hours.",
            "Choisissez un créneau de 12 heures au maximum.",
            "Välj ett tidsfönster på högst 12 timmar.",
        ),
        "error.window.past": _t(
            "This time has already passed.", "Ce créneau est déjà passé.", "Den tiden har redan passerat."
        ),
        "error.window.too_far": _t(
            "Choose a day within the next 30 days.",
            "Choisissez un jour dans les 30 prochains jours.",
            "Välj en dag inom de närmaste 30 dagarna.",
        ),
        "error.lang.invalid": _t("Choose a language.", "Choisissez une langue.", "Välj ett språk."),
    }
)

TEXT_IDS: Final = tuple(_TEXTS)


def customer_text(text_id: str, lang: str, **values: str) -> str:
    """One customer page text in ``lang``, with ``values`` filled in; an unknown id or language raises."""
    by_language = _TEXTS.get(text_id)
    if by_language is None:
        raise MessageCatalogError(f"Unknown customer text {text_id!r}.", hint="add it to web/customer_i18n.py")
    template = by_language.get(lang)
    if template is None:
        raise MessageCatalogError(f"No customer texts in language {lang!r}.", hint="use en, fr or sv")
    return template.format_map(values) if values else template


def field_error_text(code: str, lang: str) -> str:
    """The text for a field error code (``card.checksum``); an unknown code reads as "please check this field"."""
    text_id = f"error.{code}"
    return customer_text(text_id if text_id in _TEXTS else "error.invalid", lang)
