"""The hash chain: how an event is hashed and linked to the one before, and the walk that names the first bad event.

Encoding (version 1). Both hashes are SHA-256, hex, over UTF-8 canonical JSON: keys sorted, no whitespace
(``separators=(",", ":")``), non-ASCII kept as UTF-8, strings escaped as Python's ``json`` does — for our value
types (strings, integers below 2**53, null) this is exactly RFC 8785 (JCS), so any JCS library can re-check it.

* ``content_hash`` = SHA-256(JSON{action, actor, channel, origin_ip, outcome, reason, role, target, time})
* ``hash``         = SHA-256(JSON{content_hash, prev_hash, seq, v: 1})
* ``prev_hash`` of event 1 is ``GENESIS_HASH`` (64 zeros); of event n it is the ``hash`` of event n - 1.

Two levels let an export leave out an event's content (``elided`` rows carry only seq, content hash and hashes)
while the chain through it can still be recomputed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import json.encoder
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from securedesk.errors import ChainBroken
from securedesk.storage.audit_events import AuditEvent

GENESIS_HASH: Final = "0" * 64
CHAIN_VERSION: Final = 1
CONTENT_FIELDS: Final = ("action", "actor", "channel", "origin_ip", "outcome", "reason", "role", "target", "time")

# The C string encoder ``json.dumps(..., ensure_ascii=False)`` itself uses for str values; called directly because
# verification runs it nine times per event (``test_fast_content_hash_equals_canonical_json`` pins the equivalence).
_encode_string: Callable[[str], str] = json.encoder.encode_basestring


def canonical_json(value: Mapping[str, str | int | None]) -> bytes:
    """The canonical encoding of a flat object (see the module docstring)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8", "surrogatepass")


def _json_or_null(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


def content_hash(event: AuditEvent) -> str:
    """SHA-256 over the event's content fields. Equal to hashing ``canonical_json`` of them (tested), only faster."""
    text = (
        f'{{"action":{_encode_string(event.action)},"actor":{_encode_string(event.actor)},'
        f'"channel":{_encode_string(event.channel)},"origin_ip":{_json_or_null(event.origin_ip)},'
        f'"outcome":{_encode_string(event.outcome)},"reason":{_json_or_null(event.reason)},'
        f'"role":{_encode_string(event.role)},"target":{_encode_string(event.target)},'
        f'"time":{_encode_string(event.time)}}}'
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def link_hash(seq: int, prev_hash: str, content: str) -> str:
    """SHA-256 over ``{content_hash, prev_hash, seq, v}``: binds an event's content to its place in the chain."""
    text = (
        f'{{"content_hash":{_encode_string(content)},"prev_hash":{_encode_string(prev_hash)},'
        f'"seq":{seq:d},"v":{CHAIN_VERSION:d}}}'
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def event_hash(event: AuditEvent) -> str:
    return link_hash(event.seq, event.prev_hash, content_hash(event))


# --- verification --------------------------------------------------------------------------------------------

#: Problem kinds a report can name, with what each usually means.
PROBLEMS: Final = {
    "missing": "an event is missing: a row was deleted",
    "hash_mismatch": "an event does not match its stored hash: a field was edited, or rows were moved or swapped",
    "broken_link": "an event does not link to the one before: an event was rewritten with a recomputed hash, "
    "or rows were replaced",
    "duplicate": "a sequence number appears twice",
    "truncated": "the newest events are gone: the log ends before the signed checkpoint",
    "checkpoint_mismatch": "the chain does not reach the signed checkpoint's head hash: the log was rewritten "
    "and its hashes recomputed",
    "bad_signature": "a checkpoint's signature does not verify with the trusted key: the checkpoint is forged or "
    "altered",
    "not_covered": "rows lie outside the range the export's checkpoint signs: rows were added to the export",
}

TRUNCATION_NOTE: Final = (
    "Removal of the newest events (a truncated tail) can be detected only against a signed checkpoint taken "
    "after them; events after the last checkpoint are not covered by one."
)


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of walking a chain: ``ok``, or the first bad event and what is wrong with it."""

    ok: bool
    events_checked: int
    first_sequence: int  # first event walked (1 for a whole log; the first row of an export)
    last_sequence: int  # last event walked (0 when none)
    head_hash: str  # stored hash of the last event walked
    first_bad_sequence: int | None = None
    problem: str | None = None  # a key of PROBLEMS
    detail: str = ""
    checkpoint_sequences: tuple[int, ...] = ()  # checkpoints whose signature and head hash were confirmed
    elided: int = 0  # export rows whose content was left out by the export's filter
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.ok:
            anchored = (
                f"; matches signed checkpoint(s) at {', '.join(str(s) for s in self.checkpoint_sequences)}"
                if self.checkpoint_sequences
                else "; no signed checkpoint checked"
            )
            return f"OK: {self.events_checked} events ({self.first_sequence}..{self.last_sequence}) verified{anchored}."
        return f"TAMPERED: event {self.first_bad_sequence}: {self.detail}"

    def raise_if_broken(self) -> None:
        if not self.ok:
            raise ChainBroken(
                f"Audit chain verification failed at event {self.first_bad_sequence}: {self.problem}.",
                sequence=self.first_bad_sequence,
                hint="run `securedesk audit verify` for details",
            )


class ChainWalk:
    """Checks events (or elided rows) fed in sequence order, stopping at the first bad one.

    ``anchors`` maps a sequence number to the head hashes that signed checkpoints say the chain had there.
    """

    def __init__(
        self,
        *,
        start_seq: int = 1,
        start_prev_hash: str | None = GENESIS_HASH,
        anchors: Mapping[int, Iterable[str]] | None = None,
    ) -> None:
        self._expected_seq = start_seq
        # None: the link of the first row cannot be checked (an export that starts mid-chain).
        self._prev_hash = start_prev_hash
        self._anchors = {seq: tuple(hashes) for seq, hashes in (anchors or {}).items()}
        self.first_sequence = start_seq
        self.events_checked = 0
        self.elided = 0
        self.last_sequence = start_seq - 1
        self.head_hash = start_prev_hash or ""
        self.confirmed: list[int] = []
        self.failure: tuple[int, str, str] | None = None  # (sequence, problem, detail)
        # A checkpoint of the state just before the first row (e.g. of the empty log, sequence 0).
        before = start_seq - 1
        if start_prev_hash is not None and before in self._anchors:
            if any(signed != start_prev_hash for signed in self._anchors[before]):
                self._fail(
                    before,
                    "checkpoint_mismatch",
                    f"the signed checkpoint at {before} does not match the chain's starting hash.",
                )
            else:
                self.confirmed.append(before)

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def _fail(self, seq: int, problem: str, detail: str) -> bool:
        self.failure = (seq, problem, detail)
        return False

    def feed_event(self, event: AuditEvent) -> bool:
        return self.feed(event.seq, event.prev_hash, event.hash, content_hash(event))

    def feed(self, seq: int, prev_hash: str, stored_hash: str, content: str, *, elided: bool = False) -> bool:
        """Check one row; False (and ``failure`` set) at the first bad one."""
        if self.failure is not None:
            return False
        if seq > self._expected_seq:
            return self._fail(
                self._expected_seq,
                "missing",
                f"event {self._expected_seq} is missing (deleted); the next stored event is {seq}.",
            )
        if seq < self._expected_seq:
            return self._fail(seq, "duplicate", f"event {seq} appears again after event {self._expected_seq - 1}.")
        if link_hash(seq, prev_hash, content) != stored_hash:
            return self._fail(
                seq,
                "hash_mismatch",
                f"event {seq} does not match its stored hash: a field was edited, or rows were moved or swapped.",
            )
        if self._prev_hash is not None and prev_hash != self._prev_hash:
            before = "the genesis value" if seq == 1 else f"the hash of event {seq - 1}"
            return self._fail(
                seq,
                "broken_link",
                f"event {seq}'s previous hash is not {before}: event {seq - 1} was rewritten with a recomputed "
                "hash, or rows were replaced.",
            )
        for signed in self._anchors.get(seq, ()):
            if signed != stored_hash:
                return self._fail(
                    seq,
                    "checkpoint_mismatch",
                    f"event {seq}'s hash differs from the head hash of the signed checkpoint at {seq}: the log was "
                    f"rewritten at or before event {seq} and its hashes recomputed.",
                )
        if seq in self._anchors:
            self.confirmed.append(seq)
        self._prev_hash = stored_hash
        self._expected_seq = seq + 1
        self.last_sequence = seq
        self.head_hash = stored_hash
        self.events_checked += 1
        if elided:
            self.elided += 1
        return True

    def fail_truncated(self, signed_sequence: int) -> None:
        """The chain ended before ``signed_sequence``, which a valid checkpoint vouches for."""
        if self.failure is None:
            self._fail(
                self.last_sequence + 1,
                "truncated",
                f"the rows end at event {self.last_sequence} but a signed checkpoint vouches for events up to "
                f"{signed_sequence}: events {self.last_sequence + 1}..{signed_sequence} were removed.",
            )

    def fail_bad_signature(self, sequence: int, what: str) -> None:
        if self.failure is None:
            self._fail(
                sequence, "bad_signature", f"{what} (for event {sequence}) does not verify with the trusted key."
            )

    def fail_not_covered(self, sequence: int, detail: str) -> None:
        """Event ``sequence`` lies outside the range a checkpoint vouches for."""
        if self.failure is None:
            self._fail(sequence, "not_covered", detail)

    def report(self, notes: Iterable[str] = ()) -> VerifyReport:
        base = VerifyReport(
            ok=self.failure is None,
            events_checked=self.events_checked,
            first_sequence=self.first_sequence,
            last_sequence=self.last_sequence,
            head_hash=self.head_hash,
            checkpoint_sequences=tuple(sorted(set(self.confirmed))),
            elided=self.elided,
            notes=tuple(notes),
        )
        if self.failure is None:
            return base
        seq, problem, detail = self.failure
        return dataclasses.replace(base, ok=False, first_bad_sequence=seq, problem=problem, detail=detail)
