"""The audit log: append-only, hash-chained, fail-closed; verification, search and export."""

from securedesk.audit.chain import GENESIS_HASH, ChainWalk, VerifyReport, content_hash, event_hash, link_hash
from securedesk.audit.checkpoint import (
    checkpoint_is_valid,
    checkpoint_to_json,
    parse_checkpoint,
    sign_checkpoint,
)
from securedesk.audit.export import EXPORT_FORMATS, parse_export, verify_export
from securedesk.audit.log import OUTCOMES, AuditExport, AuditLog, AuditPage, Page
from securedesk.storage.audit_events import AuditEvent, AuditFilters, Checkpoint

__all__ = [
    "EXPORT_FORMATS",
    "GENESIS_HASH",
    "OUTCOMES",
    "AuditEvent",
    "AuditExport",
    "AuditFilters",
    "AuditLog",
    "AuditPage",
    "ChainWalk",
    "Checkpoint",
    "Page",
    "VerifyReport",
    "checkpoint_is_valid",
    "checkpoint_to_json",
    "content_hash",
    "event_hash",
    "link_hash",
    "parse_checkpoint",
    "parse_export",
    "sign_checkpoint",
    "verify_export",
]
