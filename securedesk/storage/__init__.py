"""The database: connection, schema migrations, and one repository per concept behind the ``Store`` protocol."""

from securedesk.storage.database import MIGRATIONS, Database

__all__ = ["MIGRATIONS", "Database"]
