"""Protected forms: an agent (or a nudge) opens a one-time link for a case — a payment card, a national identity
number (US SSN, French NIR or Swedish personnummer) or bank details (IBAN) — and the customer types the value into
a page of ours instead of a chat or an email.

The link carries 256 random bits, never the case id; only their keyed hash is stored. It expires (24 hours by
default) and is burned by its first good submission. A submission is validated with the recognizers' checks, sealed
in the vault for the case (``source="form"``, so the case view shows ``VISA •••• 1111 (submitted via form)``),
noted in the case as a system message and recorded in the audit log — all or nothing: if the note or the audit
event cannot be written, the sealed value is shredded again and the link stays usable.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from securedesk.clock import Clock
from securedesk.customer.keys import CustomerKeys
from securedesk.customer.validation import (
    CARD_VERIFICATION_FIELDS,
    ValidValue,
    validate_card,
    validate_iban,
    validate_national_id,
)
from securedesk.errors import InvalidInput, LinkGone, MessageBlocked, NotFound
from securedesk.identity import AuditRecorder
from securedesk.policy import Action, PolicyHolder
from securedesk.storage.cases import LANGS, CaseRecord, CaseRepository, MessageRecord, new_message_id
from securedesk.storage.forms import FORM_KINDS, FormRepository, FormRequestRecord
from securedesk.vault import SecretRef, Vault

logger = logging.getLogger("securedesk.customer.forms")

DEFAULT_TTL_SECONDS: Final = 86_400
MIN_TTL_SECONDS: Final = 300
MAX_TTL_SECONDS: Final = 7 * 86_400
TOKEN_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
FORM_SOURCE: Final = "form"
CUSTOMER_ACTOR: Final = "customer"
CUSTOMER_ROLE: Final = "customer"
#: What the case's system message calls each submitted type (staff read case notes in English).
_TYPE_NAMES: Final = {
    "CREDIT_CARD": "a payment card",
    "US_SSN": "a US Social Security number",
    "FR_NIR": "a French social security number (NIR)",
    "SE_PERSONNUMMER": "a Swedish personnummer",
    "IBAN_CODE": "bank details (IBAN)",
}


def new_form_id() -> str:
    return "frm_" + secrets.token_hex(12)


@dataclass(frozen=True)
class FormLink:
    """The link to send the customer: ``{public_base_url}/forms/<token>``. The URL is a bearer secret: its repr
    does not show it."""

    url: str
    expires_at: float

    def __repr__(self) -> str:
        return f"FormLink(url='…/forms/••••', expires_at={self.expires_at})"


@dataclass(frozen=True)
class OpenForm:
    """A usable link, as its page needs it."""

    id: str
    case_id: str
    case_reference: str
    kind: str  # "card" | "national_id" | "iban"
    lang: str
    expires_at: float


@dataclass(frozen=True)
class FormReceipt:
    form_id: str
    case_reference: str
    secret: SecretRef
    discarded_card_verification: bool


@dataclass(frozen=True)
class FormRequestView:
    """A case's form request for staff: its state and, once used, the masked value it brought."""

    id: str
    kind: str
    lang: str
    created_by: str
    created_at: float
    expires_at: float
    state: str  # "open" | "used" | "expired"
    submitted: str | None  # "VISA •••• 1111 (submitted via form)"


class FormService:
    def __init__(
        self,
        *,
        forms: FormRepository,
        cases: CaseRepository,
        vault: Vault,
        audit: AuditRecorder,
        policy: PolicyHolder,
        keys: CustomerKeys,
        clock: Clock,
        public_base_url: str,
        default_ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._forms = forms
        self._cases = cases
        self._vault = vault
        self._audit = audit
        self._policy = policy
        self._keys = keys
        self._clock = clock
        self._base_url = public_base_url.rstrip("/")
        self._default_ttl = default_ttl_seconds

    def _token_hash(self, token: str) -> str:
        return self._keys.mac("form-token", token).hex()

    # --- opening a request (agents, nudges) ---------------------------------------------------------------------

    async def create_request(
        self,
        *,
        case_id: str,
        kind: str,
        created_by: str,
        lang: str,
        ttl_seconds: int | None = None,
        role: str = "system",
        origin_ip: str | None = None,
        channel: str = "system",
    ) -> FormLink:
        """A one-time link to the ``kind`` form for the case (``card``, ``national_id`` or ``iban``), valid for
        ``ttl_seconds`` (default ``Settings.form_ttl_seconds``, 24 hours); recorded as ``form.create`` by
        ``created_by`` with ``role``. ``NotFound`` for an unknown case, ``InvalidInput`` for an unknown kind or
        language, or a lifetime outside 5 minutes to 7 days."""
        if kind not in FORM_KINDS:
            raise InvalidInput(f"Unknown form kind {kind!r}.", hint=f"use one of {', '.join(FORM_KINDS)}")
        if lang not in LANGS:
            raise InvalidInput(f"Unknown form language {lang!r}.", hint=f"use one of {', '.join(LANGS)}")
        if ttl_seconds is None:
            ttl_seconds = self._default_ttl
        if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
            raise InvalidInput(f"A form link must live {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS} seconds.")
        if not created_by.strip():
            raise InvalidInput("A form request needs the name of who asked for it.")
        case = await self._cases.get_case(case_id)
        if case is None:
            raise NotFound("No such case.")
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        record = FormRequestRecord(
            id=new_form_id(),
            token_hash=self._token_hash(token),
            case_id=case.id,
            kind=kind,
            lang=lang,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl_seconds,
        )
        async with self._forms.transaction() as conn:
            await self._forms.insert(conn, record)
            await self._audit.record_in(
                conn,
                actor=created_by,
                role=role,
                action="form.create",
                target=f"case:{case.id};form:{record.id}",
                origin_ip=origin_ip,
                channel=channel,
                reason=f"kind={kind}; lang={lang}",
            )
        return FormLink(url=f"{self._base_url}/forms/{token}", expires_at=record.expires_at)

    # --- the customer's page ------------------------------------------------------------------------------------

    async def open(self, token: str) -> OpenForm:
        """The form behind ``token``: ``NotFound`` for a token that never existed (or was tampered with),
        ``LinkGone`` (410) for one that expired or was used."""
        record, case = await self._load(token)
        return OpenForm(
            id=record.id,
            case_id=case.id,
            case_reference=case.reference,
            kind=record.kind,
            lang=record.lang,
            expires_at=record.expires_at,
        )

    async def _load(self, token: str) -> tuple[FormRequestRecord, CaseRecord]:
        record = None
        if TOKEN_PATTERN.fullmatch(token):
            record = await self._forms.by_token_hash(self._token_hash(token))
        if record is None:
            raise NotFound("No protected form behind this link.")
        if record.used_at is not None or record.expires_at <= self._clock.now():
            raise LinkGone("This form link was used already or has expired.")
        case = await self._cases.get_case(record.case_id)
        if case is None:
            raise NotFound("No protected form behind this link.")
        return record, case

    async def submit(self, token: str, fields: Mapping[str, str], *, origin_ip: str | None = None) -> FormReceipt:
        """Validate, seal, note and audit one submission; burn the link. ``ValidationFailed`` (422) names the
        fields in error (the link stays usable), ``MessageBlocked`` when the policy does not keep this type from
        forms, ``NotFound``/``LinkGone`` as ``open``. Card verification codes sent anyway are dropped unread."""
        record, case = await self._load(token)
        value = _validate(record.kind, fields)
        rule = self._policy.current.rule(value.entity_type, FORM_SOURCE)
        if rule.action is not Action.VAULT:
            raise MessageBlocked(f"The policy does not keep {value.entity_type} values submitted through forms.")
        discarded = any(fields.get(name, "").strip() for name in CARD_VERIFICATION_FIELDS)
        now = self._clock.now()
        if not await self._forms.claim(record.id, now=now):
            raise LinkGone("This form link was used already or has expired.")
        try:
            ref = await self._vault.seal(
                value.entity_type,
                value.value,
                case_id=case.id,
                customer_id=case.customer_id,
                source=FORM_SOURCE,
                retention_days=rule.retention_days,
            )
        except Exception:
            await self._forms.release(record.id)
            raise
        try:
            await self._record(record, case, value, ref, discarded=discarded, origin_ip=origin_ip, now=now)
        except Exception:
            # Nobody could account for the sealed value: shred it, and let the customer try again.
            await self._vault.delete(ref.token)
            await self._forms.release(record.id)
            raise
        return FormReceipt(record.id, case.reference, ref, discarded)

    async def _record(
        self,
        record: FormRequestRecord,
        case: CaseRecord,
        value: ValidValue,
        ref: SecretRef,
        *,
        discarded: bool,
        origin_ip: str | None,
        now: float,
    ) -> None:
        note = f"The customer submitted {_TYPE_NAMES[value.entity_type]} through the protected form: {ref.mask}."
        reason = f"entity={value.entity_type}; vaulted"
        if discarded:
            note += " A card verification code sent with it was discarded unread."
            reason += "; card verification code discarded"
        async with self._cases.transaction() as conn:
            await self._forms.record_submission(conn, record.id, secret_token=ref.token, entity_type=value.entity_type)
            await self._cases.insert_message(
                conn,
                MessageRecord(
                    id=new_message_id(),
                    case_id=case.id,
                    direction="internal",
                    sender_kind="system",
                    body=note,
                    created_at=now,
                    sender_id=None,
                    meta={
                        "source": FORM_SOURCE,
                        "form": record.id,
                        "tokens": [ref.token],
                        "entities": {value.entity_type: 1},
                    },
                ),
            )
            await self._cases.update_case(conn, case.id, now=now)
            await self._audit.record_in(
                conn,
                actor=CUSTOMER_ACTOR,
                role=CUSTOMER_ROLE,
                action="form.submit",
                target=f"case:{case.id};form:{record.id};secret:{ref.token}",
                origin_ip=origin_ip,
                channel="form",
                reason=reason,
            )

    # --- staff view -----------------------------------------------------------------------------------------------

    async def for_case(self, case_id: str) -> list[FormRequestView]:
        views: list[FormRequestView] = []
        now = self._clock.now()
        for record in await self._forms.for_case(case_id):
            submitted: str | None = None
            if record.secret_token is not None:
                try:
                    submitted = f"{(await self._vault.describe(record.secret_token)).mask} (submitted via form)"
                except NotFound:
                    submitted = "(removed: retention period over)"
            state = "used" if record.used_at is not None else "expired" if record.expires_at <= now else "open"
            views.append(
                FormRequestView(
                    id=record.id,
                    kind=record.kind,
                    lang=record.lang,
                    created_by=record.created_by,
                    created_at=record.created_at,
                    expires_at=record.expires_at,
                    state=state,
                    submitted=submitted,
                )
            )
        return views


def _validate(kind: str, fields: Mapping[str, str]) -> ValidValue:
    if kind == "card":
        return validate_card(fields.get("card_number", ""))
    if kind == "national_id":
        return validate_national_id(fields.get("id_type", ""), fields.get("national_id", ""))
    return validate_iban(fields.get("iban", ""))
