"""The screening API channel: other channels (forums, help-desk tickets, chat widgets we do not host) call SecureDesk
to screen their texts with the same guarantees as our own chat and email. See ``service``."""

from securedesk.channels.api.service import ApiScreened, Part, Replacement, ScreeningApi, require_scope

__all__ = ["ApiScreened", "Part", "Replacement", "ScreeningApi", "require_scope"]
