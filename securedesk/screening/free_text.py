"""``FreeTextRedactor``: the audit log's ``ReasonScreen`` built on a detector the caller already has (the screener's),
so staff free text (reasons, search terms) never keeps a card number or national ID and no second detector is built.
"""

from __future__ import annotations

from securedesk.audit.reasons import ReasonScreen
from securedesk.detection import Detector


class FreeTextRedactor(ReasonScreen):
    """``AuditLog(db, clock, FreeTextRedactor(detector))``: ``ReasonScreen(detector=detector)``, positionally."""

    def __init__(self, detector: Detector) -> None:
        super().__init__(detector=detector)
