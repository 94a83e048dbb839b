"""The links a nudge offers a customer, built for their case: a protected form of the right kind (a fresh one-time
link), the verified lookup, and a call-back request bound to the case. A ``LinkBuilder`` for the ``Screener``."""

from __future__ import annotations

from typing import Final

from securedesk.customer.callback import CallbackService
from securedesk.customer.forms import FormService
from securedesk.screening import LinkRequest, NudgeLinks

#: Which form asks for which entity type (the first type of a message that has one decides).
FORM_KIND_FOR_ENTITY: Final = {
    "CREDIT_CARD": "card",
    "US_SSN": "national_id",
    "FR_NIR": "national_id",
    "SE_PERSONNUMMER": "national_id",
    "IBAN_CODE": "iban",
}
NUDGE_CREATOR: Final = "system:nudge"


class NudgeLinkBuilder:
    def __init__(self, forms: FormService, callbacks: CallbackService, public_base_url: str) -> None:
        self._forms = forms
        self._callbacks = callbacks
        self._generic = NudgeLinks.for_base_url(public_base_url)

    async def __call__(self, request: LinkRequest) -> NudgeLinks:
        """Case-bound links when the message belongs to a case; the generic pages otherwise."""
        if request.case_id is None:
            return self._generic
        lang = request.lang if request.lang in ("en", "fr", "sv") else "en"
        kind = next((FORM_KIND_FOR_ENTITY[t] for t in request.entity_types if t in FORM_KIND_FOR_ENTITY), None)
        form_url = self._generic.form_url
        if kind is not None:
            link = await self._forms.create_request(
                case_id=request.case_id,
                kind=kind,
                created_by=NUDGE_CREATOR,
                lang=lang,
                channel=request.channel if request.channel in ("chat", "email", "form", "webhook") else "system",
            )
            form_url = link.url
        return NudgeLinks(
            form_url=form_url,
            lookup_url=self._generic.lookup_url,
            callback_url=self._callbacks.case_link(request.case_id, lang=lang),
        )
