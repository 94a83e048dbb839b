"""``ScreeningApi``: the screening API's use cases, transport-agnostic (``web/api_routes.py`` adapts HTTP).

- ``screen``: named parts of one message (a forum post's title and body, a ticket's subject and description) are
  screened by the same Screener, policy (channel ``api``) and audit log as every other channel, as one message.
  With a ``conversation_id`` the message is screened in that conversation (the caller's, kept apart per API key),
  so a number typed across calls is found as in our own chat; a message whose last part ends with digits that may
  continue in the next call comes back with them masked (``fragment_masked``), and a later call that completes a
  number names the earlier messages to replace (``replacements``). Fails closed: a message that could not be
  screened is ``HOLD`` (the web layer answers 503 with the reason), never passed back unscreened.
- ``detokenize``: a vault token back to its value, for a key holding the ``detokenize`` scope and only for values
  sealed through that same key's name; a stated reason is required and the ``secret.detokenize`` audit event is
  written before the value is returned (no event, no value).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from securedesk.detection.conversation import mask_trailing_fragment
from securedesk.errors import DecryptionFailed, InvalidInput, NotFound, PermissionDenied
from securedesk.identity.api_keys import AUDIT_ROLE, SCOPE_DETOKENIZE, SCOPE_SCREEN, ApiKeys, ApiPrincipal
from securedesk.identity.seams import AuditRecorder
from securedesk.screening import Decision, NudgeLinks, Screener
from securedesk.screening.result import PartFinding, ScreenedParts
from securedesk.sensitive import Sensitive
from securedesk.vault import AuditHook

CHANNEL: Final = "api"
MAX_PARTS: Final = 32
MAX_NAME_CHARS: Final = 64
MAX_ID_CHARS: Final = 128
MIN_REASON_CHARS: Final = 8
MAX_REASON_CHARS: Final = 500


class ValueOpener(Protocol):
    """The part of ``Vault`` detokenize needs."""

    async def open(
        self, token: str, *, actor: str, reason: str, audit: AuditHook, source: str | None = None
    ) -> Sensitive: ...


@dataclass(frozen=True)
class Part:
    name: str
    text: str

    def __repr__(self) -> str:
        return f"Part(name={self.name!r}, chars={len(self.text)})"


@dataclass(frozen=True)
class Replacement:
    """An earlier message of the conversation that held part of a number: show ``text`` instead."""

    message_id: str
    text: str


@dataclass(frozen=True)
class ApiScreened:
    message_id: str
    result: ScreenedParts
    parts: tuple[Part, ...]  # redacted, in the order given; empty texts for HOLD
    links: NudgeLinks | None = None
    fragment_masked: bool = False
    replacements: tuple[Replacement, ...] = field(default=())

    @property
    def decision(self) -> Decision:
        return self.result.decision

    @property
    def findings(self) -> tuple[PartFinding, ...]:
        return self.result.findings


def require_scope(principal: ApiPrincipal, scope: str) -> None:
    if scope not in principal.scopes:
        raise PermissionDenied(f"This API key does not hold the {scope!r} scope.")


class ScreeningApi:
    def __init__(
        self,
        *,
        screener: Screener,
        keys: ApiKeys,
        vault: ValueOpener,
        audit: AuditRecorder,
        links: NudgeLinks,
    ) -> None:
        self._screener = screener
        self.keys = keys
        self._vault = vault
        self._audit = audit
        self._links = links

    async def screen(
        self,
        principal: ApiPrincipal,
        parts: Sequence[Part],
        *,
        lang: str | None,
        conversation_id: str | None = None,
        message_id: str | None = None,
    ) -> ApiScreened:
        require_scope(principal, SCOPE_SCREEN)
        if not parts:
            raise InvalidInput("parts: at least one part is required.")
        if len(parts) > MAX_PARTS:
            raise InvalidInput(f"parts: at most {MAX_PARTS} parts per call.")
        message_id = message_id or f"msg_{secrets.token_hex(12)}"
        conversation = (f"api:{principal.key_id}:{conversation_id}", message_id) if conversation_id else None
        result = await self._screener.screen_many(
            [part.text for part in parts],
            channel=CHANNEL,
            lang=lang,
            case_id=None,
            sender=None,
            conversation=conversation,
            source=vault_source(principal),
        )
        texts = list(result.texts)
        fragment_masked = False
        replacements: tuple[Replacement, ...] = ()
        if result.chat is not None and result.decision is not Decision.HOLD:
            if result.chat.hold_fragment and texts:
                masked = mask_trailing_fragment(texts[-1])
                fragment_masked = masked != texts[-1]
                texts[-1] = masked
            replacements = tuple(Replacement(r.message_id, r.text) for r in result.chat.replacements)
        nudged = result.decision in (Decision.DELIVER_WITH_NUDGE, Decision.BLOCK)
        return ApiScreened(
            message_id=message_id,
            result=result,
            parts=tuple(Part(part.name, text) for part, text in zip(parts, texts, strict=True)),
            links=self._links if nudged else None,
            fragment_masked=fragment_masked,
            replacements=replacements,
        )

    async def detokenize(self, principal: ApiPrincipal, token: str, reason: str, *, origin_ip: str | None) -> Sensitive:
        """The value of ``token``; ``PermissionDenied`` without the scope, ``InvalidInput`` without a reason,
        ``NotFound`` for an unknown, expired or foreign token, ``AuditError`` when the event cannot be written."""
        require_scope(principal, SCOPE_DETOKENIZE)
        reason = " ".join(reason.split())
        if len(reason) < MIN_REASON_CHARS:
            raise InvalidInput(f"reason: state why the value is needed (at least {MIN_REASON_CHARS} characters).")
        if len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"reason: at most {MAX_REASON_CHARS} characters.")
        audit = self._audit

        async def record(*, token: str, kind: str, actor: str, reason: str) -> None:
            await audit.record(
                actor=actor, role=AUDIT_ROLE, action="secret.detokenize", target=f"secret:{token};kind:{kind}",
                origin_ip=origin_ip, channel=CHANNEL, reason=reason,
            )  # fmt: skip

        try:
            return await self._vault.open(
                token, actor=principal.actor, reason=reason, audit=record, source=vault_source(principal)
            )
        except (NotFound, DecryptionFailed):
            await self.keys.refused(
                action="secret.detokenize", why="unknown, expired or foreign token", principal=principal,
                origin_ip=origin_ip,
            )  # fmt: skip
            raise


def vault_source(principal: ApiPrincipal) -> str:
    """What values vaulted through an API key are marked with: the key's name (kept across rotations)."""
    return f"{CHANNEL}:{principal.name}"
