"""What screening returns: the ``Decision`` and the ``Screened`` message (redacted text, counts, tokens, nudge)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from securedesk.vault import SecretRef

#: ``Screened.text`` of a held message: nothing of it is returned, so nothing of it can be delivered by mistake.
HELD_TEXT: Final = ""


class Decision(StrEnum):
    DELIVER = "deliver"  # nothing to remove, or removed without telling the customer
    DELIVER_WITH_NUDGE = "deliver_with_nudge"  # removed; tell the customer (``Screened.nudge``)
    BLOCK = "block"  # policy refuses the whole message; tell the sender why (``Screened.nudge``)
    HOLD = "hold"  # could not be screened (detection, redaction, vault or audit failed): never deliver


class HoldReason(StrEnum):
    """Why a message was held: the stage that failed. Safe to log and to show to staff."""

    DETECTION_TIMEOUT = "detection_timeout"
    DETECTION_FAILED = "detection_failed"
    REDACTION_FAILED = "redaction_failed"  # redaction raised, or the redacted text still held a finding
    VAULT_FAILED = "vault_failed"
    AUDIT_FAILED = "audit_failed"
    INTERNAL_ERROR = "internal_error"  # anything else that went wrong: a bug, held rather than guessed around


def _no_counts() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class MaskedFinding:
    """Where a number was masked in the screened text: its type, its span in the text as given (``start``…``end``),
    the mask that replaced it, what the policy did (``redact``, ``vault`` or ``block``) and the vault token when it
    was vaulted. Never the value."""

    entity_type: str
    start: int
    end: int
    mask: str
    action: str
    token: str | None = None


@dataclass(frozen=True)
class Screened:
    """One screened message (the contract of ``securedesk.screening``; the channels read it through a Protocol).

    ``text``: the redacted text. For BLOCK it is redacted too but must not be delivered; for HOLD it is
    ``HELD_TEXT`` (the channel keeps, or asks the sender to resend, the original: see ``docs`` in the README).
    ``entities``: per entity type, how many findings were masked (redacted, vaulted or blocking) — never values.
    ``secrets``: the vaulted values (token and display data), one per distinct value per case.
    ``nudge``: the localized message for the customer: the nudge (DELIVER_WITH_NUDGE) or the block notice (BLOCK).
    ``lang``: the language the message was screened in (given by the channel, or detected).
    """

    text: str
    decision: Decision
    entities: Mapping[str, int] = field(default_factory=_no_counts)
    secrets: tuple[SecretRef, ...] = ()
    nudge: str | None = None
    lang: str = "en"
    held_reason: HoldReason | None = None
    discarded: int = 0  # card verification codes and expiry dates removed next to cards (never kept)
    findings: tuple[MaskedFinding, ...] = ()  # in text order; empty for HOLD

    @property
    def delivered(self) -> bool:
        """Whether the channel may deliver ``text``."""
        return self.decision in (Decision.DELIVER, Decision.DELIVER_WITH_NUDGE)

    @property
    def block_notice(self) -> str | None:
        """The localized notice telling the sender why the message was refused (BLOCK only)."""
        return self.nudge if self.decision is Decision.BLOCK else None

    def __repr__(self) -> str:
        # The text is redacted, but a repr has no business carrying message content into logs.
        counts = ", ".join(f"{kind}={count}" for kind, count in sorted(self.entities.items()))
        return (
            f"Screened(decision={self.decision.value}, entities={{{counts}}}, secrets={len(self.secrets)}, "
            f"lang={self.lang}, held_reason={self.held_reason.value if self.held_reason else None})"
        )


@dataclass(frozen=True)
class Retraction:
    """An earlier chat message that held part of a number: replace what was shown with ``text`` (the message as
    delivered, with its fragment masked), or drop it if it is still held back."""

    message_id: str
    text: str

    def __repr__(self) -> str:
        return f"Retraction(message_id={self.message_id!r})"


@dataclass(frozen=True)
class ChatScreened:
    """A chat message screened in its conversation.

    ``retract``: ids of earlier messages holding part of a number completed by this one, oldest first;
    ``replacements``: their new text (one per id, same order). ``hold_fragment``: this message ends with a digit
    fragment that may continue in the next message, so hold it back briefly (``Settings.chat_fragment_hold_seconds``)
    or be ready to retract it.
    """

    screened: Screened
    retract: tuple[str, ...] = ()
    replacements: tuple[Retraction, ...] = ()
    hold_fragment: bool = False

    @property
    def text(self) -> str:
        return self.screened.text

    @property
    def decision(self) -> Decision:
        return self.screened.decision


@dataclass(frozen=True, slots=True)
class PartFinding:
    """A ``MaskedFinding`` of one part of a message screened with ``Screener.screen_many``: ``part`` is its index,
    ``start``…``end`` its span in that part as given."""

    part: int
    finding: MaskedFinding
    start: int
    end: int


@dataclass(frozen=True)
class ScreenedParts:
    """Several texts of one message screened as one (one decision, one audit event): ``texts`` are the redacted
    texts in order (empty strings for HOLD), ``findings`` where each part was masked."""

    screened: Screened
    texts: tuple[str, ...]
    findings: tuple[PartFinding, ...] = ()
    chat: ChatScreened | None = None

    @property
    def decision(self) -> Decision:
        return self.screened.decision
