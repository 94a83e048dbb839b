"""Staff repository: accounts, their queues, server-side sessions and enrolment links (the queries, nothing else).

Writes take the connection of a transaction the caller holds (``async with repo.transaction() as conn``), so that an
account change and its audit event (``AuditLog.record_in``) commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import aiosqlite

from securedesk.storage.database import Database


@dataclass(frozen=True)
class StaffRecord:
    id: str
    name: str
    role: str
    status: str  # "pending" | "active" | "disabled"
    password_hash: str | None
    totp_secret: bytes | None  # ciphertext from the vault's encrypt_field
    totp_last_step: int
    failed_logins: int
    locked_until: float
    created_at: float
    updated_at: float
    enrolled_at: float | None
    disabled_at: float | None
    queues: tuple[str, ...]


@dataclass(frozen=True)
class SessionRecord:
    id_hash: str
    staff_id: str
    created_at: float
    last_seen_at: float
    mfa_at: float
    origin_ip: str | None


@dataclass(frozen=True)
class EnrolmentRecord:
    token_hash: str
    staff_id: str
    created_at: float
    expires_at: float
    totp_secret: bytes | None  # ciphertext; set by the first ``begin``


class StaffRepository(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    # --- reads ---
    async def get_staff(self, staff_id: str) -> StaffRecord | None: ...
    async def get_staff_by_name(self, name: str) -> StaffRecord | None: ...
    async def list_staff(self) -> list[StaffRecord]: ...
    async def count_staff(self, *, role: str) -> int: ...
    async def get_session(self, id_hash: str) -> SessionRecord | None: ...
    async def list_sessions(self, staff_id: str) -> list[SessionRecord]: ...
    async def list_sessions_started_before(self, timestamp: float) -> list[SessionRecord]: ...
    async def list_sessions_idle_since(self, timestamp: float) -> list[SessionRecord]: ...
    async def get_enrolment(self, token_hash: str) -> EnrolmentRecord | None: ...

    # --- writes, inside the caller's transaction ---
    async def insert_staff(self, conn: aiosqlite.Connection, record: StaffRecord) -> None: ...
    async def set_queues(self, conn: aiosqlite.Connection, staff_id: str, queues: Iterable[str]) -> None: ...
    async def set_role(self, conn: aiosqlite.Connection, staff_id: str, role: str, *, now: float) -> None: ...
    async def set_disabled(self, conn: aiosqlite.Connection, staff_id: str, *, now: float) -> bool: ...
    async def reset_credentials(self, conn: aiosqlite.Connection, staff_id: str, *, now: float) -> None: ...
    async def activate(
        self,
        conn: aiosqlite.Connection,
        staff_id: str,
        *,
        password_hash: str,
        totp_secret: bytes,
        totp_step: int,
        now: float,
    ) -> bool: ...
    async def set_password_hash(self, conn: aiosqlite.Connection, staff_id: str, password_hash: str) -> None: ...
    async def accept_login(self, conn: aiosqlite.Connection, staff_id: str, *, totp_step: int, now: float) -> bool: ...
    async def consume_totp_step(self, conn: aiosqlite.Connection, staff_id: str, *, totp_step: int) -> bool: ...
    async def add_failure(self, conn: aiosqlite.Connection, staff_id: str, *, now: float) -> int: ...
    async def lock(self, conn: aiosqlite.Connection, staff_id: str, *, until: float) -> None: ...
    async def insert_session(self, conn: aiosqlite.Connection, record: SessionRecord) -> None: ...
    async def touch_session(self, conn: aiosqlite.Connection, id_hash: str, *, now: float) -> None: ...
    async def set_session_mfa(self, conn: aiosqlite.Connection, id_hash: str, *, now: float) -> None: ...
    async def delete_session(self, conn: aiosqlite.Connection, id_hash: str) -> bool: ...
    async def delete_sessions_of(self, conn: aiosqlite.Connection, staff_id: str) -> list[str]: ...
    async def insert_enrolment(self, conn: aiosqlite.Connection, record: EnrolmentRecord) -> None: ...
    async def set_enrolment_secret(self, conn: aiosqlite.Connection, token_hash: str, totp_secret: bytes) -> bool: ...
    async def delete_enrolment(self, conn: aiosqlite.Connection, token_hash: str) -> bool: ...
    async def delete_enrolments_of(self, conn: aiosqlite.Connection, staff_id: str) -> None: ...


_STAFF_COLUMNS = """
    s.id, s.name, s.role, s.status, s.password_hash, s.totp_secret, s.totp_last_step, s.failed_logins,
    s.locked_until, s.created_at, s.updated_at, s.enrolled_at, s.disabled_at,
    (SELECT group_concat(q.queue, ',') FROM (SELECT queue FROM staff_queues WHERE staff_id = s.id ORDER BY queue) q)
        AS queues
"""


def _staff(row: aiosqlite.Row) -> StaffRecord:
    queues = row["queues"]
    return StaffRecord(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        status=row["status"],
        password_hash=row["password_hash"],
        totp_secret=None if row["totp_secret"] is None else bytes(row["totp_secret"]),
        totp_last_step=int(row["totp_last_step"]),
        failed_logins=int(row["failed_logins"]),
        locked_until=float(row["locked_until"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        enrolled_at=row["enrolled_at"],
        disabled_at=row["disabled_at"],
        queues=tuple(queues.split(",")) if queues else (),
    )


def _session(row: aiosqlite.Row) -> SessionRecord:
    return SessionRecord(
        id_hash=row["id_hash"],
        staff_id=row["staff_id"],
        created_at=float(row["created_at"]),
        last_seen_at=float(row["last_seen_at"]),
        mfa_at=float(row["mfa_at"]),
        origin_ip=row["origin_ip"],
    )


async def _changed(conn: aiosqlite.Connection, sql: str, params: Sequence[object]) -> int:
    async with conn.execute(sql, tuple(params)) as cursor:
        return cursor.rowcount


class SqliteStaffRepository:
    """``StaffRepository`` on the SQLite ``Database`` (tables from migration 0003_identity)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._db.transaction()

    # --- reads ---

    async def get_staff(self, staff_id: str) -> StaffRecord | None:
        row = await self._db.fetch_one(f"SELECT {_STAFF_COLUMNS} FROM staff s WHERE s.id = ?", (staff_id,))  # noqa: S608
        return None if row is None else _staff(row)

    async def get_staff_by_name(self, name: str) -> StaffRecord | None:
        row = await self._db.fetch_one(f"SELECT {_STAFF_COLUMNS} FROM staff s WHERE s.name = ?", (name,))  # noqa: S608
        return None if row is None else _staff(row)

    async def list_staff(self) -> list[StaffRecord]:
        rows = await self._db.fetch_all(f"SELECT {_STAFF_COLUMNS} FROM staff s ORDER BY s.name")  # noqa: S608
        return [_staff(row) for row in rows]

    async def count_staff(self, *, role: str) -> int:
        row = await self._db.fetch_one("SELECT count(*) FROM staff WHERE role = ? AND status != 'disabled'", (role,))
        return 0 if row is None else int(row[0])

    async def get_session(self, id_hash: str) -> SessionRecord | None:
        row = await self._db.fetch_one("SELECT * FROM staff_sessions WHERE id_hash = ?", (id_hash,))
        return None if row is None else _session(row)

    async def list_sessions(self, staff_id: str) -> list[SessionRecord]:
        rows = await self._db.fetch_all(
            "SELECT * FROM staff_sessions WHERE staff_id = ? ORDER BY created_at", (staff_id,)
        )
        return [_session(row) for row in rows]

    async def list_sessions_started_before(self, timestamp: float) -> list[SessionRecord]:
        rows = await self._db.fetch_all("SELECT * FROM staff_sessions WHERE created_at <= ?", (timestamp,))
        return [_session(row) for row in rows]

    async def list_sessions_idle_since(self, timestamp: float) -> list[SessionRecord]:
        rows = await self._db.fetch_all("SELECT * FROM staff_sessions WHERE last_seen_at <= ?", (timestamp,))
        return [_session(row) for row in rows]

    async def get_enrolment(self, token_hash: str) -> EnrolmentRecord | None:
        row = await self._db.fetch_one("SELECT * FROM staff_enrolments WHERE token_hash = ?", (token_hash,))
        if row is None:
            return None
        return EnrolmentRecord(
            token_hash=row["token_hash"],
            staff_id=row["staff_id"],
            created_at=float(row["created_at"]),
            expires_at=float(row["expires_at"]),
            totp_secret=None if row["totp_secret"] is None else bytes(row["totp_secret"]),
        )

    # --- writes ---

    async def insert_staff(self, conn: aiosqlite.Connection, record: StaffRecord) -> None:
        await conn.execute(
            "INSERT INTO staff (id, name, role, status, password_hash, totp_secret, totp_last_step, failed_logins,"
            " locked_until, created_at, updated_at, enrolled_at, disabled_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.name,
                record.role,
                record.status,
                record.password_hash,
                record.totp_secret,
                record.totp_last_step,
                record.failed_logins,
                record.locked_until,
                record.created_at,
                record.updated_at,
                record.enrolled_at,
                record.disabled_at,
            ),
        )
        await self.set_queues(conn, record.id, record.queues)

    async def set_queues(self, conn: aiosqlite.Connection, staff_id: str, queues: Iterable[str]) -> None:
        await conn.execute("DELETE FROM staff_queues WHERE staff_id = ?", (staff_id,))
        await conn.executemany(
            "INSERT INTO staff_queues (staff_id, queue) VALUES (?, ?)", [(staff_id, q) for q in sorted(set(queues))]
        )

    async def set_role(self, conn: aiosqlite.Connection, staff_id: str, role: str, *, now: float) -> None:
        await conn.execute("UPDATE staff SET role = ?, updated_at = ? WHERE id = ?", (role, now, staff_id))

    async def set_disabled(self, conn: aiosqlite.Connection, staff_id: str, *, now: float) -> bool:
        changed = await _changed(
            conn,
            "UPDATE staff SET status = 'disabled', disabled_at = ?, updated_at = ?"
            " WHERE id = ? AND status != 'disabled'",
            (now, now, staff_id),
        )
        return changed == 1

    async def reset_credentials(self, conn: aiosqlite.Connection, staff_id: str, *, now: float) -> None:
        await conn.execute(
            "UPDATE staff SET status = 'pending', password_hash = NULL, totp_secret = NULL, failed_logins = 0,"
            " locked_until = 0, enrolled_at = NULL, disabled_at = NULL, updated_at = ? WHERE id = ?",
            (now, staff_id),
        )

    async def activate(
        self,
        conn: aiosqlite.Connection,
        staff_id: str,
        *,
        password_hash: str,
        totp_secret: bytes,
        totp_step: int,
        now: float,
    ) -> bool:
        changed = await _changed(
            conn,
            "UPDATE staff SET status = 'active', password_hash = ?, totp_secret = ?, totp_last_step = ?,"
            " failed_logins = 0, locked_until = 0, enrolled_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
            (password_hash, totp_secret, totp_step, now, now, staff_id),
        )
        return changed == 1

    async def set_password_hash(self, conn: aiosqlite.Connection, staff_id: str, password_hash: str) -> None:
        await conn.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (password_hash, staff_id))

    async def accept_login(self, conn: aiosqlite.Connection, staff_id: str, *, totp_step: int, now: float) -> bool:
        # One conditional UPDATE: the step is consumed only by an active, unlocked account and only once, even when
        # two submissions of one code race (in this process or another one on the same file).
        changed = await _changed(
            conn,
            "UPDATE staff SET totp_last_step = ?, failed_logins = 0"
            " WHERE id = ? AND totp_last_step < ? AND status = 'active' AND locked_until <= ?",
            (totp_step, staff_id, totp_step, now),
        )
        return changed == 1

    async def consume_totp_step(self, conn: aiosqlite.Connection, staff_id: str, *, totp_step: int) -> bool:
        changed = await _changed(
            conn,
            "UPDATE staff SET totp_last_step = ? WHERE id = ? AND totp_last_step < ? AND status = 'active'",
            (totp_step, staff_id, totp_step),
        )
        return changed == 1

    async def add_failure(self, conn: aiosqlite.Connection, staff_id: str, *, now: float) -> int:
        """Count one more consecutive failure (not while locked); returns the new count, 0 if none was counted."""
        async with conn.execute(
            "UPDATE staff SET failed_logins = failed_logins + 1 WHERE id = ? AND locked_until <= ?"
            " RETURNING failed_logins",
            (staff_id, now),
        ) as cursor:
            row = await cursor.fetchone()
        return 0 if row is None else int(row[0])

    async def lock(self, conn: aiosqlite.Connection, staff_id: str, *, until: float) -> None:
        await conn.execute("UPDATE staff SET locked_until = ?, failed_logins = 0 WHERE id = ?", (until, staff_id))

    async def insert_session(self, conn: aiosqlite.Connection, record: SessionRecord) -> None:
        await conn.execute(
            "INSERT INTO staff_sessions (id_hash, staff_id, created_at, last_seen_at, mfa_at, origin_ip)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (record.id_hash, record.staff_id, record.created_at, record.last_seen_at, record.mfa_at, record.origin_ip),
        )

    async def touch_session(self, conn: aiosqlite.Connection, id_hash: str, *, now: float) -> None:
        await conn.execute(
            "UPDATE staff_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?", (now, id_hash, now)
        )

    async def set_session_mfa(self, conn: aiosqlite.Connection, id_hash: str, *, now: float) -> None:
        await conn.execute(
            "UPDATE staff_sessions SET mfa_at = ?, last_seen_at = max(last_seen_at, ?) WHERE id_hash = ?",
            (now, now, id_hash),
        )

    async def delete_session(self, conn: aiosqlite.Connection, id_hash: str) -> bool:
        return await _changed(conn, "DELETE FROM staff_sessions WHERE id_hash = ?", (id_hash,)) == 1

    async def delete_sessions_of(self, conn: aiosqlite.Connection, staff_id: str) -> list[str]:
        async with conn.execute(
            "DELETE FROM staff_sessions WHERE staff_id = ? RETURNING id_hash", (staff_id,)
        ) as cursor:
            rows = await cursor.fetchall()
        return sorted(str(row[0]) for row in rows)

    async def insert_enrolment(self, conn: aiosqlite.Connection, record: EnrolmentRecord) -> None:
        await conn.execute(
            "INSERT INTO staff_enrolments (token_hash, staff_id, created_at, expires_at, totp_secret)"
            " VALUES (?, ?, ?, ?, ?)",
            (record.token_hash, record.staff_id, record.created_at, record.expires_at, record.totp_secret),
        )

    async def set_enrolment_secret(self, conn: aiosqlite.Connection, token_hash: str, totp_secret: bytes) -> bool:
        changed = await _changed(
            conn,
            "UPDATE staff_enrolments SET totp_secret = ? WHERE token_hash = ? AND totp_secret IS NULL",
            (totp_secret, token_hash),
        )
        return changed == 1

    async def delete_enrolment(self, conn: aiosqlite.Connection, token_hash: str) -> bool:
        return await _changed(conn, "DELETE FROM staff_enrolments WHERE token_hash = ?", (token_hash,)) == 1

    async def delete_enrolments_of(self, conn: aiosqlite.Connection, staff_id: str) -> None:
        await conn.execute("DELETE FROM staff_enrolments WHERE staff_id = ?", (staff_id,))
