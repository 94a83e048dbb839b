"""The five tamper cases, done as an attacker with the database file would: drop the triggers, change rows."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from securedesk.audit import AuditLog, Checkpoint, event_hash
from securedesk.audit.chain import TRUNCATION_NOTE
from securedesk.clock import FixedClock
from securedesk.storage.audit_events import AuditEvent
from securedesk.vault.signing import SigningKey

Fill = Callable[[AuditLog, int], Awaitable[None]]

COLUMNS = "seq, time, actor, role, origin_ip, channel, action, target, outcome, reason, prev_hash, hash"
GUARDS_NOTE = "The append-only triggers of audit_events are missing: someone changed the database schema."


def attacker(db_path: Path) -> sqlite3.Connection:
    raw = sqlite3.connect(db_path, isolation_level=None)
    for trigger in (
        "audit_events_no_update",
        "audit_events_no_delete",
        "audit_checkpoints_no_update",
        "audit_checkpoints_no_delete",
    ):
        raw.execute(f"DROP TRIGGER {trigger}")
    return raw


def rows(raw: sqlite3.Connection) -> list[AuditEvent]:
    return [AuditEvent(*row) for row in raw.execute(f"SELECT {COLUMNS} FROM audit_events ORDER BY seq")]  # noqa: S608


def rewrite_from(raw: sqlite3.Connection, first: int, **changes: Any) -> None:
    """Change event ``first`` and recompute every hash after it, as an attacker who knows the algorithm would."""
    prev: str | None = None
    for event in rows(raw):
        if event.seq >= first:
            updated = dataclasses.replace(event, **(changes if event.seq == first else {}))
            if prev is not None:
                updated = dataclasses.replace(updated, prev_hash=prev)
            updated = dataclasses.replace(updated, hash=event_hash(updated))
            raw.execute("DELETE FROM audit_events WHERE seq = ?", (event.seq,))
            raw.execute(
                f"INSERT INTO audit_events ({COLUMNS}) VALUES ({', '.join('?' * 12)})",  # noqa: S608
                tuple(updated.as_dict().values()),
            )
            event = updated
        prev = event.hash


@pytest.fixture
async def ten(log: AuditLog, fill: Fill) -> AuditLog:
    await fill(log, 10)
    assert (await log.verify()).ok
    return log


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("time", "2027-01-15T08:00:03.000001Z"),
        ("actor", "mallory"),
        ("role", "admin"),
        ("origin_ip", "203.0.113.66"),
        ("origin_ip", None),
        ("channel", "cli"),
        ("action", "case.view"),
        ("target", "case_999"),
        ("outcome", "failure"),
        ("reason", "routine check"),
        ("prev_hash", "f" * 64),
        ("hash", "e" * 64),
    ],
)
async def test_edited_field_names_that_event(ten: AuditLog, db_path: Path, column: str, value: str | None) -> None:
    with attacker(db_path) as raw:
        assert raw.execute(f"SELECT {column} FROM audit_events WHERE seq = 4").fetchone()[0] != value  # noqa: S608
        raw.execute(f"UPDATE audit_events SET {column} = ? WHERE seq = 4", (value,))  # noqa: S608
    report = await ten.verify()
    assert (report.ok, report.first_bad_sequence, report.problem) == (False, 4, "hash_mismatch")
    assert report.summary().startswith("TAMPERED: event 4: event 4 does not match its stored hash")
    assert GUARDS_NOTE in report.notes


async def test_edit_with_its_own_hash_recomputed_breaks_the_next_link(ten: AuditLog, db_path: Path) -> None:
    with attacker(db_path) as raw:
        event = rows(raw)[3]
        forged = dataclasses.replace(event, actor="mallory")
        raw.execute("UPDATE audit_events SET actor = 'mallory', hash = ? WHERE seq = 4", (event_hash(forged),))
    report = await ten.verify()
    assert (report.first_bad_sequence, report.problem) == (5, "broken_link")
    assert "event 4 was rewritten with a recomputed hash" in report.detail


@pytest.mark.parametrize("seq", [1, 4, 9])
async def test_deleted_row_is_named(ten: AuditLog, db_path: Path, seq: int) -> None:
    with attacker(db_path) as raw:
        raw.execute("DELETE FROM audit_events WHERE seq = ?", (seq,))
    report = await ten.verify()
    assert (report.ok, report.first_bad_sequence, report.problem) == (False, seq, "missing")
    assert report.events_checked == seq - 1


async def test_deleted_row_with_later_rows_renumbered_is_named(ten: AuditLog, db_path: Path) -> None:
    with attacker(db_path) as raw:
        raw.execute("DELETE FROM audit_events WHERE seq = 6")
        for seq in range(7, 11):
            raw.execute("UPDATE audit_events SET seq = ? WHERE seq = ?", (seq - 1, seq))
    report = await ten.verify()
    assert (report.first_bad_sequence, report.problem) == (6, "hash_mismatch")


async def test_swapped_rows_are_named(ten: AuditLog, db_path: Path) -> None:
    with attacker(db_path) as raw:
        raw.execute("UPDATE audit_events SET seq = -1 WHERE seq = 4")
        raw.execute("UPDATE audit_events SET seq = 4 WHERE seq = 5")
        raw.execute("UPDATE audit_events SET seq = 5 WHERE seq = -1")
    report = await ten.verify()
    assert (report.ok, report.first_bad_sequence, report.problem) == (False, 4, "hash_mismatch")


async def test_swapped_contents_with_hashes_are_named(ten: AuditLog, db_path: Path) -> None:
    with attacker(db_path) as raw:
        four, seven = rows(raw)[3], rows(raw)[6]
        for seq, source in ((4, seven), (7, four)):
            raw.execute(
                "UPDATE audit_events SET actor = ?, action = ?, target = ?, outcome = ?, prev_hash = ?, hash = ? "
                "WHERE seq = ?",
                (source.actor, source.action, source.target, source.outcome, source.prev_hash, source.hash, seq),
            )
    report = await ten.verify()
    assert (report.first_bad_sequence, report.problem) == (4, "hash_mismatch")


async def test_truncated_tail_is_invisible_without_a_checkpoint_and_says_so(ten: AuditLog, db_path: Path) -> None:
    with attacker(db_path) as raw:
        raw.execute("DELETE FROM audit_events WHERE seq >= 8")
    report = await ten.verify()
    assert (report.ok, report.last_sequence) == (True, 7)
    assert TRUNCATION_NOTE in report.notes


async def test_truncated_tail_is_named_against_a_stored_checkpoint(ten: AuditLog, db_path: Path) -> None:
    await ten.checkpoint()
    with attacker(db_path) as raw:
        raw.execute("DELETE FROM audit_events WHERE seq >= 8")
    report = await ten.verify()
    assert (report.ok, report.first_bad_sequence, report.problem) == (False, 8, "truncated")
    assert "events 8..10 were removed" in report.detail


async def test_truncated_tail_is_named_against_an_external_checkpoint(ten: AuditLog, db_path: Path) -> None:
    kept_elsewhere = await ten.checkpoint(keep=False)
    with attacker(db_path) as raw:
        raw.execute("DELETE FROM audit_events WHERE seq >= 8")
    assert (await ten.verify()).ok
    report = await ten.verify(kept_elsewhere)
    assert (report.first_bad_sequence, report.problem) == (8, "truncated")


async def test_wholesale_rewrite_after_a_checkpoint_is_caught_only_by_the_checkpoint(
    ten: AuditLog, db_path: Path, fill: Fill
) -> None:
    kept_elsewhere = await ten.checkpoint(keep=False)
    await fill(ten, 2)  # events 11 and 12 arrive after the checkpoint
    with attacker(db_path) as raw:
        rewrite_from(raw, 4, actor="mallory")
    alone = await ten.verify()
    assert alone.ok, "a recomputed chain is self-consistent: this is exactly why checkpoints exist"
    report = await ten.verify(kept_elsewhere)
    assert (report.ok, report.first_bad_sequence, report.problem) == (False, 10, "checkpoint_mismatch")
    assert "rewritten at or before event 10" in report.detail


async def test_rewrite_is_caught_by_a_stored_checkpoint_unless_it_is_removed_too(ten: AuditLog, db_path: Path) -> None:
    await ten.checkpoint()
    with attacker(db_path) as raw:
        rewrite_from(raw, 2, actor="mallory")
    report = await ten.verify()
    assert (report.first_bad_sequence, report.problem) == (10, "checkpoint_mismatch")
    with attacker_without_triggers(db_path) as raw:
        raw.execute("DELETE FROM audit_checkpoints")
    assert (await ten.verify()).ok


def attacker_without_triggers(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path, isolation_level=None)


async def test_forged_stored_checkpoint_is_rejected(ten: AuditLog, db_path: Path) -> None:
    real = await ten.checkpoint()
    with attacker(db_path) as raw:
        rewrite_from(raw, 3, actor="mallory")
        new_head = rows(raw)[-1].hash
        raw.execute("UPDATE audit_checkpoints SET head_hash = ? WHERE sequence = ?", (new_head, real.sequence))
    report = await ten.verify()
    assert (report.ok, report.first_bad_sequence, report.problem) == (False, 10, "bad_signature")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda cp: dataclasses.replace(cp, sequence=cp.sequence - 3),
        lambda cp: dataclasses.replace(cp, head_hash="0" * 64),
        lambda cp: dataclasses.replace(cp, time="2030-01-01T00:00:00.000000Z"),
        lambda cp: dataclasses.replace(cp, signature=cp.signature[:-2] + ("00" if cp.signature[-2:] != "00" else "01")),
        lambda cp: dataclasses.replace(cp, signature="not hex"),
    ],
)
async def test_tampered_checkpoint_is_rejected(ten: AuditLog, tamper: object) -> None:
    good = await ten.checkpoint(keep=False)
    assert callable(tamper)
    forged: Checkpoint = tamper(good)
    report = await ten.verify(forged)
    assert (report.ok, report.problem, report.first_bad_sequence) == (False, "bad_signature", forged.sequence)


async def test_checkpoint_signed_by_another_key_is_rejected(ten: AuditLog, db: object, clock: FixedClock) -> None:
    other = AuditLog(ten._db, clock, str, signing_key=SigningKey.generate())
    foreign = await other.checkpoint(keep=False)
    report = await ten.verify(foreign)
    assert (report.ok, report.problem) == (False, "bad_signature")


async def test_intact_log_with_checkpoints_reports_them(ten: AuditLog, fill: Fill) -> None:
    await ten.checkpoint()
    await fill(ten, 3)
    outside = await ten.checkpoint(keep=False)
    report = await ten.verify(outside)
    assert (report.ok, report.events_checked, report.checkpoint_sequences, report.notes) == (True, 13, (10, 13), ())
