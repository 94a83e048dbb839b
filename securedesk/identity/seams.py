"""The two seams identity is built on: the audit log that records each account event, and the vault's column cipher.

``securedesk.audit.AuditLog`` and ``securedesk.vault`` satisfy them; tests may pass a recorder that fails to prove
that an unrecorded action does not happen.
"""

from __future__ import annotations

from typing import Protocol

import aiosqlite


class AuditRecorder(Protocol):
    """The part of ``securedesk.audit.AuditLog`` identity uses. Both raise ``AuditError`` when nothing was written."""

    async def record(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        target: str = "",
        outcome: str = "success",
        origin_ip: str | None = None,
        channel: str = "system",
        reason: str | None = None,
    ) -> object: ...

    async def record_in(
        self,
        conn: aiosqlite.Connection,
        *,
        actor: str,
        role: str,
        action: str,
        target: str = "",
        outcome: str = "success",
        origin_ip: str | None = None,
        channel: str = "system",
        reason: str | None = None,
    ) -> object: ...


class FieldCipher(Protocol):
    """Column encryption from the vault (AES-256-GCM, AAD binds table, row id, column and key version)."""

    def encrypt_field(self, plaintext: bytes, *, table: str, row_id: str, column: str) -> bytes: ...

    def decrypt_field(self, blob: bytes, *, table: str, row_id: str, column: str) -> bytes: ...
