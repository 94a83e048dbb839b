"""``ChatRuntime``: the chat parts one gateway shares — the ``ChatService``, the agent console and the conversation
tokens — built once from the ``Services`` (the web layer adapts them to WebSockets, ``web/chat_pages.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from securedesk.channels.chat import AgentConsole, ChatRelayQueue, ChatService
from securedesk.channels.chat.conversation_token import ConversationTokens
from securedesk.gateway.services import Services
from securedesk.identity import SessionsEnded
from securedesk.screening import Links
from securedesk.storage.cases import SqliteCaseRepository
from securedesk.storage.outbox import SqliteOutboxRepository


@dataclass
class ChatRuntime:
    """The chat parts of one app, built once from its ``Services`` (``ChatRuntime.build``)."""

    service: ChatService
    console: AgentConsole
    tokens: ConversationTokens

    @classmethod
    def build(cls, services: Services, *, links: Links | None = None) -> ChatRuntime:
        """Build the chat from ``services`` and register it: its shutdown hook (deliver what is held, close every
        WebSocket with 1001) and its session-end listener (close the agent WebSockets of ended sessions, 1008).
        ``links`` builds the nudge links of a case (the customer desk's), else the generic pages are offered."""
        settings = services.settings
        cases = SqliteCaseRepository(services.database)
        outbox = SqliteOutboxRepository(services.database)
        relay = ChatRelayQueue(outbox, services.clock) if settings.webhook_url else None
        service = ChatService(
            settings=settings,
            screener=services.screener,
            cases=cases,
            clock=services.clock,
            metrics=services.metrics,
            links=links,
            relay=relay,
        )
        runtime = cls(
            service=service,
            console=AgentConsole(
                cases=cases,
                vault=services.vault,
                audit=services.audit,
                policy=services.policy,
                clock=services.clock,
                reveal_per_hour=settings.reveal_max_per_hour,
            ),
            tokens=ConversationTokens.from_keyring(
                services.vault.keyring, clock=services.clock, lifetime_seconds=settings.chat_conversation_seconds
            ),
        )
        services.shutdown_hooks.append(runtime.close)
        services.identity.listeners.add(runtime.sessions_ended)
        return runtime

    async def sessions_ended(self, event: SessionsEnded) -> None:
        await self.service.sessions_ended(event)

    async def close(self) -> None:
        await self.service.close()
