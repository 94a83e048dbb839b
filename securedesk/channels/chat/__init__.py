"""Live chat: conversations between customers and agents over WebSockets, every message screened in both directions
(``ChatService``), who is connected (``ChatHub``), digit fragments held back or retracted (``FragmentHolder``), and
the agent console's cases and reveals (``AgentConsole``). Transport-agnostic: the web layer adapts its WebSockets to
``ChatSocket``."""

from securedesk.channels.chat.console import AgentConsole, CaseView, RevealRate
from securedesk.channels.chat.fragments import FragmentHolder, Held
from securedesk.channels.chat.hub import (
    CLOSE_GOING_AWAY,
    CLOSE_INVALID,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    AgentPeer,
    ChatHub,
    ChatSocket,
    CustomerPeer,
    Peer,
)
from securedesk.channels.chat.limits import MessageRate, check_frame_size
from securedesk.channels.chat.relay import ChatRelayQueue
from securedesk.channels.chat.service import ChatService, ReplyOutcome, case_summary

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_INVALID",
    "CLOSE_NORMAL",
    "CLOSE_POLICY",
    "CLOSE_TOO_BIG",
    "AgentConsole",
    "AgentPeer",
    "CaseView",
    "ChatHub",
    "ChatRelayQueue",
    "ChatService",
    "ChatSocket",
    "CustomerPeer",
    "FragmentHolder",
    "Held",
    "MessageRate",
    "Peer",
    "ReplyOutcome",
    "RevealRate",
    "case_summary",
    "check_frame_size",
]
