"""SecureDesk: a PII-aware secure intake gateway for customer chat and email."""

__version__ = "0.1.0"
