"""Screening: the one door every message passes through (detect → decide → redact → vault → audit).

``from securedesk.screening import Screener, Screened, Decision`` is the contract the channels build on.
"""

from securedesk.screening.analysis import ActedItem, Analysis, TextScreen, strictest
from securedesk.screening.notices import LinkBuilder, LinkRequest, Links, NudgeLinks
from securedesk.screening.result import HELD_TEXT, ChatScreened, Decision, HoldReason, Retraction, Screened
from securedesk.screening.screener import AUDIT_ACTOR, AUDIT_ROLE, Screener

__all__ = [
    "AUDIT_ACTOR",
    "AUDIT_ROLE",
    "HELD_TEXT",
    "ActedItem",
    "Analysis",
    "ChatScreened",
    "Decision",
    "HoldReason",
    "LinkBuilder",
    "LinkRequest",
    "Links",
    "NudgeLinks",
    "Retraction",
    "Screened",
    "Screener",
    "TextScreen",
    "strictest",
]
