"""The audit log: append-only, hash-chained, fail-closed; verification, search and export."""
