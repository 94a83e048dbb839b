"""The ``Store``: every repository the application uses, behind one protocol, so that a PostgreSQL implementation can
replace SQLite without touching callers. Each concept adds one attribute here (its repository) and nothing else.
"""

from __future__ import annotations

from typing import Final, Protocol

from securedesk.storage.audit_events import AuditEventStore, SqliteAuditEventStore
from securedesk.storage.callbacks import CallbackRepository, SqliteCallbackRepository
from securedesk.storage.customer_keys import CustomerKeyRepository, SqliteCustomerKeyRepository
from securedesk.storage.database import Database
from securedesk.storage.forms import FormRepository, SqliteFormRepository
from securedesk.storage.lookup import LookupRepository, SqliteLookupRepository
from securedesk.storage.secrets import EncryptedColumn, SecretRepository, SqliteSecretRepository
from securedesk.storage.staff import SqliteStaffRepository, StaffRepository

#: Columns of other tables holding ``Vault.encrypt_field`` blobs. Their owners list them here so that
#: ``securedesk keys rotate`` re-wraps them, ``keys status`` counts them and ``keys retire`` waits for them.
ENCRYPTED_COLUMNS: Final[tuple[EncryptedColumn, ...]] = (
    EncryptedColumn("staff", "id", "totp_secret"),
    EncryptedColumn("staff_enrolments", "token_hash", "totp_secret"),
    EncryptedColumn("email_quarantine", "id", "content"),
    EncryptedColumn("customer_keys", "purpose", "key_blob"),
    EncryptedColumn("callbacks", "id", "phone"),
)


class Store(Protocol):
    secrets: SecretRepository
    audit_events: AuditEventStore
    staff: StaffRepository
    forms: FormRepository
    lookups: LookupRepository
    callbacks: CallbackRepository
    customer_keys: CustomerKeyRepository

    async def close(self) -> None: ...


class SqliteStore:
    """All repositories over one SQLite ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.secrets: SecretRepository = SqliteSecretRepository(db)
        self.audit_events: AuditEventStore = SqliteAuditEventStore(db)
        self.staff: StaffRepository = SqliteStaffRepository(db)
        self.forms: FormRepository = SqliteFormRepository(db)
        self.lookups: LookupRepository = SqliteLookupRepository(db)
        self.callbacks: CallbackRepository = SqliteCallbackRepository(db)
        self.customer_keys: CustomerKeyRepository = SqliteCustomerKeyRepository(db)

    async def close(self) -> None:
        await self.db.close()
