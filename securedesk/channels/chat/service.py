"""``ChatService``: live chat between customers and agents, every message in both directions screened before it is
stored or sent.

A conversation is a case (channel ``chat``) whose id is the conversation id the web layer binds to the customer's
signed cookie; the case (and an anonymous customer) is created with the first message. For each message, in the
order sent (one at a time per conversation):

1. ``Screener.screen_chat`` screens it in its conversation stream (customer → agent, agent → customer), which also
   finds numbers typed across several messages;
2. earlier messages holding part of such a number are retracted: still held back, they will leave masked; already
   delivered, their stored text is replaced and a ``replace`` event goes to the console (and to the customer);
3. by decision: HOLD (could not be screened) — an error frame to the sender, a ``held`` record without content,
   nothing delivered; BLOCK — the localized notice to the sender, a ``blocked`` record without content, nothing
   delivered; DELIVER — the redacted text is sent and stored (messages are stored redacted only), unless it ends
   with a digit fragment that may continue in the next message: then it is held back up to
   ``Settings.chat_fragment_hold_seconds`` (``FragmentHolder``) and delivered when that time is up, when the
   conversation moves on, or masked when a later message completes the number.

Storage goes through ``ChatWriter`` (group commit), and a delivered message is sent before its commit finishes (the
conversation stays locked until it has): the database's fsync is not on the chat's latency. Delivered messages are
also queued for the upstream webhook when one is configured (``ChatRelayQueue``). Nothing here logs or counts
message text: logs carry ids and counts, metrics come from the Screener and the ``ChatHub``'s peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from securedesk import messages
from securedesk.channels.chat.fragments import FragmentHolder, Held
from securedesk.channels.chat.hub import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    AgentPeer,
    ChatHub,
    ChatSocket,
    CustomerPeer,
    Peer,
)
from securedesk.channels.chat.relay import ChatRelayQueue, message_envelope, replace_envelope
from securedesk.channels.chat.writer import ChatWriter, MessageWrite
from securedesk.clock import Clock, utc_iso
from securedesk.config import Settings
from securedesk.detection.conversation import mask_trailing_fragment
from securedesk.errors import InvalidInput, NotFound
from securedesk.identity import Permission, Principal, SessionsEnded, require
from securedesk.metrics import Metrics
from securedesk.screening import ChatScreened, Decision, Links, Retraction, Screener
from securedesk.storage.cases import (
    CaseRecord,
    CaseRepository,
    CaseTouch,
    MessageRecord,
    new_message_id,
    new_reference,
)
from securedesk.vault import SecretRef

logger = logging.getLogger("securedesk.chat")

CUSTOMER: Final = "customer"
AGENT: Final = "agent"
#: Characters of the first delivered customer message kept (redacted) as the case subject.
SUBJECT_CHARS: Final = 80
MAX_MESSAGE_CHARS: Final = 4_000
HISTORY_MESSAGES: Final = 100
#: How long shutdown waits for the close frames (1001) to be written.
CLOSE_WAIT_SECONDS: Final = 3.0


def scan_key(conversation_id: str, stream: str) -> str:
    """The ConversationScanner key of one direction of a conversation: numbers are joined within a direction only."""
    return conversation_id if stream == CUSTOMER else f"{conversation_id}/{stream}"


@dataclass
class Delivery:
    """A screened message on its way to being stored and sent (its text is the redacted text)."""

    id: str
    stream: str  # CUSTOMER or AGENT
    text: str
    created_at: float
    lang: str
    entities: Mapping[str, int]
    secrets: tuple[SecretRef, ...] = ()
    sender_id: str | None = None
    sender_name: str | None = None
    retracted: bool = False

    @property
    def direction(self) -> str:
        return "inbound" if self.stream == CUSTOMER else "outbound"

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"lang": self.lang}
        if self.entities:
            meta["entities"] = dict(self.entities)
        if self.secrets:
            meta["tokens"] = [ref.token for ref in self.secrets]
        if self.sender_name:
            meta["sender_name"] = self.sender_name
        if self.retracted:
            meta["retracted"] = True
        return meta


@dataclass(frozen=True)
class ReplyOutcome:
    """What became of an agent's reply: ``sent`` (delivered), ``pending`` (held back briefly for a trailing digit
    fragment), ``blocked`` or ``held``; ``text`` is the redacted text, ``notice`` tells the agent what was done."""

    status: str
    message_id: str
    text: str = ""
    notice: str | None = None


@dataclass(eq=False)
class Room:
    """One conversation in memory: its case (None until the first message), language, queue and held messages."""

    conversation_id: str
    queue: str
    lang: str
    holds: dict[str, FragmentHolder[Delivery]]
    case: CaseRecord | None = None
    links: Links | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    timer: asyncio.TimerHandle | None = None
    busy: int = 0
    #: Per stream, messages delivered with their trailing fragment masked because a later message may still
    #: complete a number: message id → (the text to show once harmless, when it was sent).
    provisional: dict[str, dict[str, tuple[str, float]]] = field(default_factory=lambda: {CUSTOMER: {}, AGENT: {}})

    @property
    def held(self) -> int:
        return sum(len(holder) for holder in self.holds.values()) + sum(map(len, self.provisional.values()))


def case_summary(case: CaseRecord, *, customer_online: bool) -> dict[str, Any]:
    """What the console's live list shows of a case (redacted subject, no message text)."""
    return {
        "id": case.id,
        "reference": case.reference,
        "channel": case.channel,
        "status": case.status,
        "queue": case.queue,
        "lang": case.lang,
        "subject": case.subject,
        "updated_at": utc_iso(case.updated_at),
        "customer_online": customer_online,
    }


class ChatService:
    """The chat of one gateway process. ``close()`` on shutdown delivers what is held, then closes every WebSocket
    with 1001."""

    def __init__(
        self,
        *,
        settings: Settings,
        screener: Screener,
        cases: CaseRepository,
        clock: Clock,
        hub: ChatHub | None = None,
        metrics: Metrics | None = None,
        links: Links | None = None,
        relay: ChatRelayQueue | None = None,
    ) -> None:
        """``links`` builds the nudge's links for a case (the customer desk's ``NudgeLinkBuilder``: a protected-form
        request and a signed call-back link); without it the Screener offers the generic pages."""
        self._settings = settings
        self._screener = screener
        self._cases = cases
        self._clock = clock
        self.hub = hub if hub is not None else ChatHub()
        self._metrics = metrics
        self._links = links
        self._relay = relay
        self._writer = ChatWriter(cases, relay)
        self._rooms: dict[str, Room] = {}
        self._tasks: set[asyncio.Task[int]] = set()
        self._closing = False

    @property
    def rooms(self) -> int:
        return len(self._rooms)

    # --- customers -----------------------------------------------------------------------------------------

    async def join_customer(
        self, socket: ChatSocket, conversation_id: str, *, lang: str, links: Links | None = None
    ) -> CustomerPeer:
        """Register an accepted customer WebSocket and send it ``hello`` (with the conversation so far). ``links``
        builds the nudge links for this conversation (else the service's)."""
        room = await self._room(conversation_id, lang=lang)
        room.lang = lang
        if links is not None:
            room.links = links
        peer = Peer(socket, channel="chat", metrics=self._metrics)
        peer.start()
        customer = CustomerPeer(peer, conversation_id, room.queue)
        self.hub.add_customer(customer)
        history: list[dict[str, Any]] = []
        if room.case is not None:
            for record in (await self._cases.list_messages(room.case.id))[-HISTORY_MESSAGES:]:
                if record.state == "delivered" and record.sender_kind in (CUSTOMER, AGENT):
                    history.append(_customer_view(record))
        peer.send_frame(
            {
                "type": "hello",
                "conversation": conversation_id,
                "lang": room.lang,
                "agents_online": self.hub.agents_online(room.queue),
                "history": history,
            }
        )
        if room.case is not None:
            self._presence_to_agents(room)
        return customer

    async def leave_customer(self, customer: CustomerPeer, *, code: int | None = None) -> None:
        """The customer's WebSocket closed (or is being closed by us): forget it once its writer is done."""
        self.hub.remove_customer(customer)
        customer.peer.disconnected(code)
        await customer.peer.finish()
        room = self._rooms.get(customer.conversation_id)
        if room is not None:
            if room.case is not None:
                self._presence_to_agents(room)
            self._drop_if_idle(room)

    async def customer_message(self, customer: CustomerPeer, text: str, *, client_id: str | None = None) -> Decision:
        """Screen one customer message and act on the decision (see the module docstring)."""
        _check_text(text)
        room = self._rooms.get(customer.conversation_id)
        if room is None:
            raise NotFound("This conversation is not open.")
        room.busy += 1
        try:
            async with room.lock:
                return await self._customer_message(room, text, client_id)
        finally:
            room.busy -= 1

    async def _customer_message(self, room: Room, text: str, client_id: str | None) -> Decision:
        now = self._clock.now()
        case = await self._ensure_case(room, now)
        message_id = new_message_id()
        result = await self._screener.screen_chat(
            scan_key(room.conversation_id, CUSTOMER),
            message_id,
            text,
            lang=room.lang,
            case_id=case.id,
            sender=CUSTOMER,
            customer_id=case.customer_id,
            links=room.links or self._links,
        )
        await self._retract(room, CUSTOMER, result.replacements)
        screened = result.screened
        decision = screened.decision
        conversation = room.conversation_id
        if decision is Decision.HOLD:
            await self._store_refused(room, message_id, CUSTOMER, "held", {"held_reason": _held_reason(result)}, now)
            self.hub.to_customer(conversation, {"type": "error", "code": "held", "client_id": client_id})
            logger.warning("chat.message_held", extra={"fields": {"case_id": case.id, "message_id": message_id}})
            return decision
        if decision is Decision.BLOCK:
            await self._store_refused(room, message_id, CUSTOMER, "blocked", {"entities": dict(screened.entities)}, now)
            self.hub.to_customer(conversation, _notice("block", screened.nudge, client_id))
            await self._release_joinless(room, CUSTOMER)
            return decision
        delivery = Delivery(
            id=message_id,
            stream=CUSTOMER,
            text=screened.text,
            created_at=now,
            lang=screened.lang,
            entities=screened.entities,
            secrets=screened.secrets,
        )
        self.hub.to_customer(
            conversation,
            {
                "type": "message",
                "id": message_id,
                "sender": CUSTOMER,
                "text": delivery.text,
                "at": utc_iso(now),
                "client_id": client_id,
            },
        )
        if decision is Decision.DELIVER_WITH_NUDGE and screened.nudge:
            self.hub.to_customer(conversation, _notice("nudge", screened.nudge, None))
        await self._route(room, delivery, hold=result.hold_fragment)
        return decision

    # --- agents --------------------------------------------------------------------------------------------

    async def join_agent(self, socket: ChatSocket, principal: Principal, *, session_key: str) -> AgentPeer:
        peer = Peer(socket, channel="agent", metrics=self._metrics)
        peer.start()
        agent = AgentPeer(peer, principal, session_key)
        was_online = {queue: self.hub.agents_online(queue) for queue in principal.queues}
        self.hub.add_agent(agent)
        peer.send_frame({"type": "hello", "agent": principal.name, "queues": sorted(principal.queues)})
        self._presence_to_customers(principal.queues, was_online)
        return agent

    async def leave_agent(self, agent: AgentPeer, *, code: int | None = None) -> None:
        was_online = {queue: self.hub.agents_online(queue) for queue in agent.principal.queues}
        self.hub.remove_agent(agent)
        agent.peer.disconnected(code)
        await agent.peer.finish()
        self._presence_to_customers(agent.principal.queues, was_online)

    async def agent_reply(
        self, principal: Principal, case_id: str, text: str, *, client_id: str | None = None
    ) -> ReplyOutcome:
        """Screen an agent's reply and deliver it to the customer's WebSocket. ``ObjectNotVisible``/``NotFound``
        for a case outside the agent's queues, ``PermissionDenied`` without ``case.reply``, ``InvalidInput`` for
        an empty or over-long reply, or a case that is not a chat."""
        _check_text(text)
        case = await self._cases.get_case(case_id)
        if case is None:
            raise NotFound("No such case.")
        require(principal, Permission.CASE_REPLY, case=case)
        if case.channel != "chat":
            raise InvalidInput("Only chat cases can be answered here: answer email cases from the help desk.")
        room = await self._room(case.id, case=case)
        room.busy += 1
        try:
            async with room.lock:
                return await self._agent_reply(room, principal, text, client_id)
        finally:
            room.busy -= 1
            self._drop_if_idle(room)

    async def _agent_reply(self, room: Room, principal: Principal, text: str, client_id: str | None) -> ReplyOutcome:
        case = room.case
        if case is None:  # loaded by _room for an existing case
            raise NotFound("No such case.")
        now = self._clock.now()
        message_id = new_message_id()
        result = await self._screener.screen_chat(
            scan_key(room.conversation_id, AGENT),
            message_id,
            text,
            lang=room.lang,
            case_id=case.id,
            sender=f"agent:{principal.name}",
            customer_id=case.customer_id,
        )
        await self._retract(room, AGENT, result.replacements)
        screened = result.screened
        decision = screened.decision
        if decision is Decision.HOLD:
            await self._store_refused(
                room, message_id, AGENT, "held", {"held_reason": _held_reason(result)}, now, sender=principal
            )
            return ReplyOutcome(
                "held",
                message_id,
                notice="Your reply could not be screened and was not sent. Please try again in a moment.",
            )
        if decision is Decision.BLOCK:
            await self._store_refused(
                room, message_id, AGENT, "blocked", {"entities": dict(screened.entities)}, now, sender=principal
            )
            await self._release_joinless(room, AGENT)
            found = messages.describe_entities(tuple(screened.entities), "en")
            return ReplyOutcome(
                "blocked",
                message_id,
                notice=f"Your reply was not sent: it contained {found}, which the policy does not allow in chat.",
            )
        delivery = Delivery(
            id=message_id,
            stream=AGENT,
            text=screened.text,
            created_at=now,
            lang=screened.lang,
            entities=screened.entities,
            secrets=screened.secrets,
            sender_id=principal.staff_id,
            sender_name=principal.name,
        )
        held = await self._route(room, delivery, hold=result.hold_fragment)
        # The agent's words are context for the customer's next message ("What is your SSN?", then "536221847").
        self._screener.conversations.add_context(scan_key(room.conversation_id, CUSTOMER), screened.text)
        notice = None
        if screened.entities:
            found = messages.describe_entities(tuple(screened.entities), "en")
            notice = f"For the customer's safety, {found} was removed from your reply before it was sent."
        return ReplyOutcome("pending" if held else "sent", message_id, delivery.text, notice)

    # --- sessions, time and shutdown -----------------------------------------------------------------------

    async def sessions_ended(self, event: SessionsEnded) -> None:
        """``SessionEndListeners`` callback: close the WebSockets of sessions that ended (1008)."""
        closed = self.hub.close_sessions(event.session_keys, CLOSE_POLICY, "session ended", outcome="session_ended")
        if closed:
            logger.info(
                "chat.agent_sockets_closed",
                extra={"fields": {"staff_id": event.staff_id, "count": closed, "reason": event.reason}},
            )

    async def release_due(self) -> int:
        """Deliver every held message whose time is up (the rooms' timers call this per room); how many."""
        released = 0
        for room in list(self._rooms.values()):
            released += await self._release_room(room)
        return released

    async def close(self) -> None:
        """Shutdown: deliver what is held (in-flight work finishes), then close every WebSocket with 1001."""
        self._closing = True
        for room in list(self._rooms.values()):
            if room.timer is not None:
                room.timer.cancel()
                room.timer = None
            async with room.lock:
                for stream in (CUSTOMER, AGENT):
                    await self._deliver_all(room, stream, room.holds[stream].release_all())
        peers = self.hub.close_all(CLOSE_GOING_AWAY, "server shutting down", outcome="shutdown")
        if peers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(peer.wait_closed() for peer in peers)), CLOSE_WAIT_SECONDS)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._writer.close()

    # --- internals: rooms and cases ------------------------------------------------------------------------

    async def _room(self, conversation_id: str, *, lang: str | None = None, case: CaseRecord | None = None) -> Room:
        room = self._rooms.get(conversation_id)
        if room is not None:
            return room
        if case is None:
            case = await self._cases.get_case(conversation_id)
        if case is not None and case.channel != "chat":
            raise NotFound("No such conversation.")
        room = self._rooms.get(conversation_id)  # another coroutine may have made it meanwhile
        if room is not None:
            return room
        hold = self._settings.chat_fragment_hold_seconds
        room = Room(
            conversation_id=conversation_id,
            queue=case.queue if case is not None else self._settings.chat_queue,
            lang=case.lang if case is not None else (lang or "en"),
            holds={CUSTOMER: FragmentHolder(hold), AGENT: FragmentHolder(hold)},
            case=case,
        )
        self._rooms[conversation_id] = room
        return room

    def _drop_if_idle(self, room: Room) -> None:
        if room.busy or room.held or room.lock.locked() or self.hub.customer_online(room.conversation_id):
            return
        if self._rooms.get(room.conversation_id) is room:
            del self._rooms[room.conversation_id]

    async def _ensure_case(self, room: Room, now: float) -> CaseRecord:
        case = room.case
        if case is not None:
            if case.lang != room.lang:
                async with self._cases.transaction() as conn:
                    await self._cases.update_case(conn, case.id, now=now, lang=room.lang)
                case = room.case = dataclasses.replace(case, lang=room.lang, updated_at=now)
            return case
        case = await self._writer.open_case(
            CaseRecord(
                id=room.conversation_id,
                reference=new_reference(),
                channel="chat",
                created_at=now,
                updated_at=now,
                queue=room.queue,
                lang=room.lang,
            ),
            lang=room.lang,
        )
        room.case = case
        logger.info("chat.case_opened", extra={"fields": {"case_id": case.id, "lang": case.lang}})
        self.hub.to_agents(room.queue, {"type": "case", "case": self._summary(room)})
        return case

    def _summary(self, room: Room) -> dict[str, Any]:
        if room.case is None:
            raise NotFound("This conversation has no case yet.")
        return case_summary(room.case, customer_online=self.hub.customer_online(room.conversation_id))

    def _pending(self, room: Room, stream: str) -> tuple[str, ...]:
        return self._screener.conversations.pending_message_ids(scan_key(room.conversation_id, stream))

    # --- internals: delivering -----------------------------------------------------------------------------

    async def _route(self, room: Room, delivery: Delivery, *, hold: bool) -> bool:
        """Deliver earlier held messages that nothing can join any more, then hold this one or deliver it; True
        when it was held back."""
        holder = room.holds[delivery.stream]
        await self._release_joinless(room, delivery.stream)
        if hold and holder.hold_seconds > 0 and not self._closing:
            holder.hold(delivery.id, delivery, delivery.text, now=delivery.created_at)
            self._arm(room)
            return True
        await self._deliver(room, delivery)
        return False

    async def _release_joinless(self, room: Room, stream: str) -> None:
        """Deliver the held messages no later message can join any more, and unmask the provisional ones."""
        await self._deliver_all(room, stream, room.holds[stream].release_unless(self._pending(room, stream)))
        await self._unmask_harmless(room, stream)

    async def _deliver_all(self, room: Room, stream: str, released: list[Held[Delivery]]) -> None:
        """Deliver released messages, oldest first. One whose fragment a later message may still complete (its
        hold time is up, or an older message had to leave) leaves with that fragment masked, and is unmasked
        once the conversation proves it harmless: nothing that may be part of a number is shown in clear."""
        pending = set(self._pending(room, stream))
        for held in released:
            text = held.text
            if held.message_id in pending and not held.retracted:
                room.provisional[stream][held.message_id] = (text, held.item.created_at)
                text = mask_trailing_fragment(text)
            await self._deliver(room, dataclasses.replace(held.item, text=text, retracted=held.retracted))

    async def _unmask_harmless(self, room: Room, stream: str) -> None:
        """Show in clear the provisional messages whose fragment can no longer join a later message."""
        provisional = room.provisional[stream]
        if not provisional:
            return
        pending = set(self._pending(room, stream))
        for message_id in [message_id for message_id in provisional if message_id not in pending]:
            text, _ = provisional.pop(message_id)
            await self._replace_shown(room, message_id, text, retracted=False)

    async def _deliver(self, room: Room, delivery: Delivery) -> None:
        """Send the redacted message, then store it (with its case's new time and its webhook entry, group-committed
        by the ``ChatWriter``). Sending first keeps the database's commit off the chat's latency; the room stays
        locked until the message is stored, so a later message of the conversation always finds it there."""
        case = room.case
        if case is None:
            raise NotFound("This conversation has no case yet.")
        now = self._clock.now()
        subject = None
        if not case.subject and delivery.stream == CUSTOMER and delivery.text.strip():
            subject = " ".join(delivery.text.split())[:SUBJECT_CHARS]
        room.case = dataclasses.replace(case, updated_at=now, subject=subject or case.subject)
        at = utc_iso(delivery.created_at)
        self.hub.to_agents(
            room.queue,
            {
                "type": "message",
                "case": self._summary(room),
                "message": {
                    "id": delivery.id,
                    "sender": delivery.stream,
                    "sender_name": delivery.sender_name,
                    "text": delivery.text,
                    "at": at,
                    "state": "delivered",
                },
            },
        )
        if delivery.stream == AGENT:
            self.hub.to_customer(
                room.conversation_id,
                {"type": "message", "id": delivery.id, "sender": AGENT, "text": delivery.text, "at": at},
            )
        envelope = None
        if self._relay is not None:
            envelope = message_envelope(
                message_id=delivery.id,
                case_id=case.id,
                case_reference=case.reference,
                direction=delivery.direction,
                sender=delivery.stream,
                agent=delivery.sender_name,
                lang=delivery.lang,
                text=delivery.text,
                entities=delivery.entities,
                vaulted=delivery.secrets,
                sent_at=delivery.created_at,
            )
        record = MessageRecord(
            id=delivery.id,
            case_id=case.id,
            direction=delivery.direction,
            sender_kind=delivery.stream,
            sender_id=delivery.sender_id,
            body=delivery.text,
            created_at=delivery.created_at,
            meta=delivery.meta(),
        )
        try:
            await self._writer.write(MessageWrite(record, CaseTouch(case.id, now, subject), envelope))
        except Exception as exc:  # delivered but not stored: say so in the log (ids only), keep the chat going
            logger.error(
                "chat.store_failed",
                extra={"fields": {"case_id": case.id, "message_id": delivery.id, "error": type(exc).__name__}},
            )

    async def _retract(self, room: Room, stream: str, replacements: tuple[Retraction, ...]) -> None:
        """Mask the parts of a number in the earlier messages that hold them (see the module docstring)."""
        holder = room.holds[stream]
        for retraction in replacements:
            room.provisional[stream].pop(retraction.message_id, None)  # it was part of a number: stays masked
            if holder.replace(retraction.message_id, retraction.text) or room.case is None:
                continue
            await self._replace_shown(room, retraction.message_id, retraction.text, retracted=True)

    async def _replace_shown(self, room: Room, message_id: str, text: str, *, retracted: bool) -> None:
        """Replace a delivered message's text: what was shown first (console, customer), then what is stored and
        what the webhook received. ``retracted``: masked because it held part of a number; else unmasked."""
        case = room.case
        if case is None:
            return
        # The id comes from this conversation's own scan.
        self.hub.to_agents(room.queue, {"type": "replace", "case_id": case.id, "message_id": message_id, "text": text})
        self.hub.to_customer(room.conversation_id, {"type": "replace", "id": message_id, "text": text})
        stored = await self._cases.get_message(message_id)
        if stored is None or stored.case_id != case.id:
            logger.warning("chat.replaced_unstored", extra={"fields": {"case_id": case.id, "message_id": message_id}})
            return
        now = self._clock.now()
        meta = {**stored.meta, "retracted": True} if retracted else stored.meta
        async with self._cases.transaction() as conn:
            await self._cases.update_message(conn, stored.id, body=text, meta=meta)
            if self._relay is not None:
                envelope = replace_envelope(
                    message_id=stored.id, case_id=case.id, case_reference=case.reference, text=text, replaced_at=now
                )
                await self._relay.enqueue(conn, envelope, case_id=case.id)
        event = "chat.retracted" if retracted else "chat.unmasked"
        logger.info(event, extra={"fields": {"case_id": case.id, "message_id": stored.id}})

    async def _store_refused(
        self,
        room: Room,
        message_id: str,
        stream: str,
        state: str,
        meta: dict[str, Any],
        now: float,
        *,
        sender: Principal | None = None,
    ) -> None:
        """A held or blocked message: recorded (state and counts only, no content); nothing is delivered."""
        case = room.case
        if case is None:
            raise NotFound("This conversation has no case yet.")
        await self._writer.write(
            MessageWrite(
                MessageRecord(
                    id=message_id,
                    case_id=case.id,
                    direction="inbound" if stream == CUSTOMER else "outbound",
                    sender_kind=stream,
                    sender_id=sender.staff_id if sender else None,
                    body="",
                    created_at=now,
                    state=state,
                    meta=meta,
                )
            )
        )

    # --- internals: timers ---------------------------------------------------------------------------------

    def _arm(self, room: Room) -> None:
        """(Re)schedule the room's timer for its earliest held message."""
        if room.timer is not None:
            room.timer.cancel()
            room.timer = None
        deadlines = [d for d in (holder.next_deadline() for holder in room.holds.values()) if d is not None]
        # A provisional message is unmasked once the scanner's window for its fragment has passed.
        window = self._screener.conversations.window_seconds
        deadlines += [sent + window + 0.001 for shown in room.provisional.values() for _, sent in shown.values()]
        if not deadlines or self._closing:
            return
        delay = max(0.0, min(deadlines) - self._clock.now())
        room.timer = asyncio.get_running_loop().call_later(delay, self._timer_fired, room)

    def _timer_fired(self, room: Room) -> None:
        room.timer = None
        task = asyncio.get_running_loop().create_task(self._release_room(room))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[int]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("chat.release_failed", extra={"fields": {"error": type(task.exception()).__name__}})

    async def _release_room(self, room: Room) -> int:
        async with room.lock:
            now = self._clock.now()
            released = 0
            for stream in (CUSTOMER, AGENT):
                due = room.holds[stream].release_due(now)
                released += len(due)
                await self._deliver_all(room, stream, due)
                await self._unmask_harmless(room, stream)
            self._arm(room)
        self._drop_if_idle(room)
        return released

    # --- internals: presence -------------------------------------------------------------------------------

    def _presence_to_agents(self, room: Room) -> None:
        if room.case is not None:
            self.hub.to_agents(
                room.queue,
                {
                    "type": "presence",
                    "case_id": room.case.id,
                    "customer_online": self.hub.customer_online(room.conversation_id),
                },
            )

    def _presence_to_customers(self, queues: frozenset[str], before: Mapping[str, int]) -> None:
        changed = {queue: self.hub.agents_online(queue) for queue in queues}
        changed = {queue: count for queue, count in changed.items() if count != before.get(queue)}
        if not changed:
            return
        for customer in self.hub.customers_in(changed):
            customer.peer.send_frame({"type": "presence", "agents_online": changed[customer.queue]})


def _notice(kind: str, text: str | None, client_id: str | None) -> dict[str, Any]:
    """The nudge or block notice for the customer (localized by the Screener; its links are to our own pages)."""
    return {"type": "notice", "kind": kind, "text": text or "", "client_id": client_id}


def _customer_view(record: MessageRecord) -> dict[str, Any]:
    return {"id": record.id, "sender": record.sender_kind, "text": record.body, "at": utc_iso(record.created_at)}


def _held_reason(result: ChatScreened) -> str:
    reason = result.screened.held_reason
    return reason.value if reason is not None else "unknown"


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("A chat message needs some text.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"A chat message is limited to {MAX_MESSAGE_CHARS} characters.")
