"""``ChatService`` with the real Screener: what agents and customers are sent, and what is stored, for clean messages,
cards in one message and in fragments (held back, or retracted after delivery), blocked and held messages, replies."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from chat_support import (
    CARD,
    FailingDetector,
    MakeChat,
    MakeScreener,
    RecordingSocket,
    agent,
    raw_database_bytes,
    settle,
)

from securedesk import messages
from securedesk.channels.chat import ChatService, CustomerPeer
from securedesk.clock import FixedClock
from securedesk.detection import Detector
from securedesk.errors import InvalidInput, ObjectNotVisible, PermissionDenied
from securedesk.identity import Role, SessionsEnded
from securedesk.policy import PolicyHolder
from securedesk.screening import Decision
from securedesk.storage.cases import SqliteCaseRepository, new_case_id
from securedesk.storage.database import Database


async def connect(chat: ChatService, *, lang: str = "en") -> tuple[CustomerPeer, RecordingSocket, RecordingSocket]:
    """A customer in a new conversation, and an agent of the ``general`` queue watching."""
    agent_socket = RecordingSocket()
    await chat.join_agent(agent_socket, agent(), session_key="s1")
    customer_socket = RecordingSocket()
    customer = await chat.join_customer(customer_socket, new_case_id(), lang=lang)
    await settle()
    return customer, customer_socket, agent_socket


def agent_messages(socket: RecordingSocket) -> list[str]:
    return [frame["message"]["text"] for frame in socket.of_type("message")]


def shown_to_agent(socket: RecordingSocket) -> list[str]:
    """The transcript as the console shows it: messages in order, replaced where a replace event came later."""
    shown: dict[str, str] = {}
    for frame in socket.frames:
        if frame["type"] == "message":
            shown[frame["message"]["id"]] = frame["message"]["text"]
        elif frame["type"] == "replace":
            shown[frame["message_id"]] = frame["text"]
    return list(shown.values())


async def stored(db: Database) -> list[tuple[str, str, str]]:
    rows = await db.fetch_all("SELECT sender_kind, state, body FROM messages ORDER BY created_at, rowid")
    return [(row["sender_kind"], row["state"], row["body"]) for row in rows]


async def test_a_clean_message_is_stored_and_reaches_the_agent(make_chat: MakeChat, db: Database) -> None:
    chat = make_chat()
    customer, customer_socket, agent_socket = await connect(chat)

    decision = await chat.customer_message(customer, "Hello, where is my parcel?", client_id="c1")
    await settle()

    assert decision is Decision.DELIVER
    assert agent_messages(agent_socket) == ["Hello, where is my parcel?"]
    case_frame, message_frame = agent_socket.of_type("case")[0], agent_socket.of_type("message")[0]
    assert case_frame["case"]["id"] == customer.conversation_id
    assert message_frame["case"]["subject"] == "Hello, where is my parcel?"
    assert message_frame["case"]["customer_online"] is True
    echo = customer_socket.of_type("message")[0]
    assert (echo["text"], echo["client_id"], echo["sender"]) == ("Hello, where is my parcel?", "c1", "customer")
    assert customer_socket.of_type("notice") == []
    assert await stored(db) == [("customer", "delivered", "Hello, where is my parcel?")]
    case = await SqliteCaseRepository(db).get_case(customer.conversation_id)
    assert case is not None
    assert (case.channel, case.queue, case.lang, case.status) == ("chat", "general", "en", "open")


@pytest.mark.parametrize(
    ("lang", "text", "masked"),
    [
        ("en", "my card is 4111 1111 1111 1111, thanks", "my card is [CARD •••• 1111], thanks"),
        ("fr", "Bonjour, ma carte est 4111 1111 1111 1111, merci", "Bonjour, ma carte est [CARD •••• 1111], merci"),
        ("sv", "Hej, mitt kort är 4111-1111-1111-1111 tack", "Hej, mitt kort är [CARD •••• 1111] tack"),
    ],
)
async def test_a_card_in_one_message_is_masked_and_the_customer_is_nudged_in_their_language(
    make_chat: MakeChat, db: Database, lang: str, text: str, masked: str
) -> None:
    chat = make_chat()
    customer, customer_socket, agent_socket = await connect(chat, lang=lang)

    decision = await chat.customer_message(customer, text)
    await settle()

    assert decision is Decision.DELIVER_WITH_NUDGE
    assert agent_messages(agent_socket) == [masked]
    assert CARD not in agent_socket.texts()
    assert "4111 1111 1111 1111" not in agent_socket.texts()
    links = {
        "form_url": "https://desk.example/forms",
        "lookup_url": "https://desk.example/lookup",
        "callback_url": "https://desk.example/callback",
    }
    assert customer_socket.of_type("notice") == [
        {"type": "notice", "kind": "nudge", "client_id": None, "text": messages.render("nudge.removed", lang, **links)}
    ]
    assert await stored(db) == [("customer", "delivered", masked)]
    raw = await raw_database_bytes(db)
    assert CARD.encode() not in raw
    assert text.encode() not in raw


async def test_two_fragments_within_the_hold_never_reach_the_agent_in_clear(
    make_chat: MakeChat, db: Database, clock: FixedClock
) -> None:
    chat = make_chat()
    customer, customer_socket, agent_socket = await connect(chat)

    first = await chat.customer_message(customer, "my card is 4111 1111")
    await settle()
    assert first is Decision.DELIVER
    assert agent_messages(agent_socket) == []  # held back: it may be the start of a number
    assert await stored(db) == []

    clock.advance(1.5)
    second = await chat.customer_message(customer, "1111 1111 thanks")
    await settle()

    assert second is Decision.DELIVER_WITH_NUDGE
    assert agent_messages(agent_socket) == ["my card is [CARD ••••]", "[CARD •••• 1111] thanks"]
    assert agent_socket.of_type("replace") == []  # masked before it was ever shown
    assert await stored(db) == [
        ("customer", "delivered", "my card is [CARD ••••]"),
        ("customer", "delivered", "[CARD •••• 1111] thanks"),
    ]
    assert "4111 1111" not in agent_socket.texts()
    # The customer's own view is masked too.
    assert customer_socket.of_type("replace") == []
    assert [f["text"] for f in customer_socket.of_type("message")] == [
        "my card is 4111 1111",
        "[CARD •••• 1111] thanks",
    ]


async def test_a_fragment_is_delivered_masked_when_its_hold_is_over_then_retracted(
    make_chat: MakeChat, db: Database, clock: FixedClock
) -> None:
    chat = make_chat()
    customer, customer_socket, agent_socket = await connect(chat)
    await chat.customer_message(customer, "4111 1111")

    clock.advance(1.9)
    assert await chat.release_due() == 0
    clock.advance(0.1)
    assert await chat.release_due() == 1
    await settle()
    # The hold is over but a later message may still complete the number: the agent sees it masked, never clear.
    assert agent_messages(agent_socket) == ["•••• ••••"]

    clock.advance(10)
    await chat.customer_message(customer, "1111 1111")
    await settle()

    first_id = agent_socket.of_type("message")[0]["message"]["id"]
    replace = agent_socket.of_type("replace")[0]
    assert (replace["message_id"], replace["text"]) == (first_id, "[CARD ••••]")
    assert shown_to_agent(agent_socket) == ["[CARD ••••]", "[CARD •••• 1111]"]
    assert customer_socket.of_type("replace") == [{"type": "replace", "id": first_id, "text": "[CARD ••••]"}]
    row = await db.fetch_one("SELECT body, meta FROM messages WHERE id = ?", (first_id,))
    assert row is not None
    assert row["body"] == "[CARD ••••]"
    assert json.loads(row["meta"])["retracted"] is True


async def test_a_masked_fragment_is_unmasked_once_the_window_proves_it_harmless(
    make_chat: MakeChat, db: Database, clock: FixedClock
) -> None:
    chat = make_chat()
    customer, _, agent_socket = await connect(chat)
    await chat.customer_message(customer, "my order is 4111 1111")
    clock.advance(2.0)
    assert await chat.release_due() == 1
    await chat.customer_message(customer, "ok")  # small talk keeps the fragment pending
    await settle()
    assert shown_to_agent(agent_socket) == ["my order is •••• ••••", "ok"]
    stored = await db.fetch_one("SELECT body FROM messages WHERE body LIKE 'my order%'")
    assert stored is not None
    assert stored["body"] == "my order is •••• ••••"

    clock.advance(120.0)
    await chat.release_due()
    await settle()
    first_id = agent_socket.of_type("message")[0]["message"]["id"]
    assert [(r["message_id"], r["text"]) for r in agent_socket.of_type("replace")] == [
        (first_id, "my order is 4111 1111")
    ]
    row = await db.fetch_one("SELECT body, meta FROM messages WHERE id = ?", (first_id,))
    assert row is not None
    assert row["body"] == "my order is 4111 1111"
    assert "retracted" not in json.loads(row["meta"])


async def test_a_sentence_after_a_masked_fragment_unmasks_it_at_once(make_chat: MakeChat, clock: FixedClock) -> None:
    chat = make_chat()
    customer, _, agent_socket = await connect(chat)
    await chat.customer_message(customer, "my order is 4111 1111")
    clock.advance(2.0)
    await chat.release_due()
    await chat.customer_message(customer, "It has not arrived yet, can you check?")
    await settle()
    assert [r["text"] for r in agent_socket.of_type("replace")] == ["my order is 4111 1111"]


async def test_three_fragments_and_the_french_and_swedish_splits(make_chat: MakeChat, detector: Detector) -> None:
    chat = make_chat()
    customer, _, agent_socket = await connect(chat, lang="fr")
    for text in ("Bonjour, ma carte bancaire est 5555", "5555", "5555", "4444 merci beaucoup"):
        await chat.customer_message(customer, text)
    other, _, _ = await connect(chat, lang="sv")
    for text in ("Mitt personnummer är 811218", "9876 tack"):
        await chat.customer_message(other, text)
    await settle()

    view = " ".join(shown_to_agent(agent_socket))
    assert "[CARD •••• 4444] merci beaucoup" in view
    assert "[PERSONNUMMER •••• 9876] tack" in view
    for lang in ("en", "fr", "sv"):
        assert detector.analyze(view, lang, min_score=0.5) == []
    assert "5555" not in agent_socket.texts()
    assert "811218" not in agent_socket.texts()


async def test_an_unrelated_message_releases_the_held_fragment_first(make_chat: MakeChat) -> None:
    chat = make_chat()
    customer, _, agent_socket = await connect(chat)

    await chat.customer_message(customer, "my order is 4111 1111")
    await chat.customer_message(customer, "and it has not arrived")
    await settle()

    assert agent_messages(agent_socket) == ["my order is 4111 1111", "and it has not arrived"]


async def test_a_blocked_message_reaches_nobody_and_is_kept_without_content(
    make_chat: MakeChat, make_screener: MakeScreener, write_policy: Callable[[str], PolicyHolder], db: Database
) -> None:
    screener = make_screener(write_policy('[entities.CREDIT_CARD.channels.chat]\naction = "block"\n'))
    chat = make_chat(screener)
    customer, customer_socket, agent_socket = await connect(chat, lang="sv")

    decision = await chat.customer_message(customer, "mitt kort är 4111 1111 1111 1111", client_id="c9")
    await settle()

    assert decision is Decision.BLOCK
    assert agent_messages(agent_socket) == []
    notice = customer_socket.of_type("notice")[0]
    assert (notice["kind"], notice["client_id"]) == ("block", "c9")
    assert notice["text"].startswith("Ditt meddelande har inte skickats vidare eftersom det innehöll ett kortnummer.")
    assert customer_socket.of_type("message") == []
    assert await stored(db) == [("customer", "blocked", "")]


async def test_a_message_that_cannot_be_screened_is_held_and_the_customer_told(
    make_chat: MakeChat, make_screener: MakeScreener, detector: Detector, db: Database
) -> None:
    chat = make_chat(make_screener(analyzer=FailingDetector(detector, error=RuntimeError("boom"))))
    customer, customer_socket, agent_socket = await connect(chat)

    decision = await chat.customer_message(customer, "card 4111 1111 1111 1111", client_id="c1")
    await settle()

    assert decision is Decision.HOLD
    assert customer_socket.of_type("error") == [{"type": "error", "code": "held", "client_id": "c1"}]
    assert customer_socket.of_type("message") == []
    assert agent_messages(agent_socket) == []
    rows = await db.fetch_all("SELECT state, body, meta FROM messages")
    assert [(r["state"], r["body"], json.loads(r["meta"])) for r in rows] == [
        ("held", "", {"held_reason": "detection_failed"})
    ]


async def test_the_agents_question_is_context_for_the_customers_answer(make_chat: MakeChat) -> None:
    chat = make_chat()
    customer, _, agent_socket = await connect(chat)
    await chat.customer_message(customer, "hello, I need to update my tax details")
    await chat.agent_reply(agent(), customer.conversation_id, "Sure. What is your SSN?")
    await chat.customer_message(customer, "536221847")
    await settle()

    assert agent_messages(agent_socket)[-1] == "[SSN •••• 1847]"
    assert "536221847" not in agent_socket.texts()


async def test_an_agent_reply_is_screened_and_delivered_to_the_customer(make_chat: MakeChat, db: Database) -> None:
    chat = make_chat()
    customer, customer_socket, agent_socket = await connect(chat)
    await chat.customer_message(customer, "hello")

    plain = await chat.agent_reply(agent(), customer.conversation_id, "Hello! How can I help?", client_id="r1")
    masked = await chat.agent_reply(agent(), customer.conversation_id, "Is it card 4111 1111 1111 1111 ?")
    await settle()

    assert (plain.status, plain.notice) == ("sent", None)
    assert masked.status == "sent"
    assert masked.text == "Is it card [CARD •••• 1111] ?"
    assert masked.notice == (
        "For the customer's safety, a payment card number was removed from your reply before it was sent."
    )
    to_customer = [(f["sender"], f["text"]) for f in customer_socket.of_type("message")]
    assert to_customer == [
        ("customer", "hello"),
        ("agent", "Hello! How can I help?"),
        ("agent", "Is it card [CARD •••• 1111] ?"),
    ]
    assert CARD not in customer_socket.texts()
    assert CARD not in agent_socket.texts()
    assert await stored(db) == [
        ("customer", "delivered", "hello"),
        ("agent", "delivered", "Hello! How can I help?"),
        ("agent", "delivered", "Is it card [CARD •••• 1111] ?"),
    ]
    row = await db.fetch_one("SELECT direction, sender_id FROM messages WHERE body LIKE 'Is it%'")
    assert row is not None
    assert (row["direction"], row["sender_id"]) == ("outbound", "staff_alice")


async def test_an_agent_splitting_a_number_is_held_then_masked(make_chat: MakeChat) -> None:
    chat = make_chat()
    customer, customer_socket, _ = await connect(chat)
    await chat.customer_message(customer, "hello")

    first = await chat.agent_reply(agent(), customer.conversation_id, "the card 4111 1111")
    second = await chat.agent_reply(agent(), customer.conversation_id, "1111 1111 ?")
    await settle()

    assert (first.status, second.status) == ("pending", "sent")
    assert [f["text"] for f in customer_socket.of_type("message") if f["sender"] == "agent"] == [
        "the card [CARD ••••]",
        "[CARD •••• 1111] ?",
    ]


@pytest.mark.parametrize(
    ("principal", "error"),
    [
        (agent("bob", queues=("billing",)), ObjectNotVisible),
        (agent("carol", role=Role.COMPLIANCE), PermissionDenied),
        (agent("dave", role=Role.ADMIN), PermissionDenied),
    ],
)
async def test_replies_are_checked_against_the_case(
    make_chat: MakeChat, principal: object, error: type[Exception], db: Database
) -> None:
    chat = make_chat()
    customer, customer_socket, _ = await connect(chat)
    await chat.customer_message(customer, "hello")

    with pytest.raises(error):
        await chat.agent_reply(principal, customer.conversation_id, "hi")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await chat.agent_reply(agent(), customer.conversation_id, "   ")
    await settle()
    assert [f["sender"] for f in customer_socket.of_type("message")] == ["customer"]


async def test_agents_of_other_queues_see_nothing(make_chat: MakeChat) -> None:
    chat = make_chat()
    billing = RecordingSocket()
    await chat.join_agent(billing, agent("bob", queues=("billing",)), session_key="s2")
    customer, _, general = await connect(chat)

    await chat.customer_message(customer, "hello")
    await settle()

    assert agent_messages(general) == ["hello"]
    assert [f["type"] for f in billing.frames] == ["hello"]


async def test_presence_is_announced_both_ways(make_chat: MakeChat) -> None:
    chat = make_chat()
    customer_socket = RecordingSocket()
    customer = await chat.join_customer(customer_socket, new_case_id(), lang="en")
    await chat.customer_message(customer, "hello")
    agent_socket = RecordingSocket()
    watcher = await chat.join_agent(agent_socket, agent(), session_key="s1")
    await settle()

    await chat.leave_customer(customer, code=1000)
    await settle()
    await chat.leave_agent(watcher, code=1000)
    await settle()

    assert customer_socket.frames[0]["agents_online"] == 0
    assert customer_socket.of_type("presence") == [{"type": "presence", "agents_online": 1}]
    assert agent_socket.of_type("presence") == [
        {"type": "presence", "case_id": customer.conversation_id, "customer_online": False}
    ]


async def test_a_returning_customer_gets_the_conversation_so_far(make_chat: MakeChat) -> None:
    chat = make_chat()
    customer, _, _ = await connect(chat)
    await chat.customer_message(customer, "my card 4111 1111 1111 1111")
    await chat.agent_reply(agent(), customer.conversation_id, "Thanks, removed it.")
    await chat.leave_customer(customer, code=1001)

    again = RecordingSocket()
    await chat.join_customer(again, customer.conversation_id, lang="en")
    await settle()

    hello = again.frames[0]
    assert hello["type"] == "hello"
    assert [(m["sender"], m["text"]) for m in hello["history"]] == [
        ("customer", "my card [CARD •••• 1111]"),
        ("agent", "Thanks, removed it."),
    ]


async def test_ended_sessions_close_their_sockets_with_1008(make_chat: MakeChat) -> None:
    chat = make_chat()
    mine, other = RecordingSocket(), RecordingSocket()
    await chat.join_agent(mine, agent(), session_key="s1")
    await chat.join_agent(other, agent("bob"), session_key="s2")

    await chat.sessions_ended(SessionsEnded("staff_alice", ("s1",), "account disabled"))
    await settle()

    assert mine.closed == (1008, "session ended")
    assert other.closed is None


async def test_close_delivers_what_is_held_then_closes_everything_with_1001(make_chat: MakeChat, db: Database) -> None:
    chat = make_chat()
    customer, customer_socket, agent_socket = await connect(chat)
    await chat.customer_message(customer, "order 4111 1111")

    await chat.close()

    # Still joinable when the server stops: it leaves masked (it cannot be proven harmless any more).
    assert agent_messages(agent_socket) == ["order •••• ••••"]
    assert customer_socket.closed == (1001, "server shutting down")
    assert agent_socket.closed == (1001, "server shutting down")
    assert await stored(db) == [("customer", "delivered", "order •••• ••••")]


async def test_the_relay_queues_redacted_envelopes(make_chat: MakeChat, db: Database, clock: FixedClock) -> None:
    chat = make_chat(relay=True)
    customer, _, _ = await connect(chat)
    await chat.customer_message(customer, "my card is 4111 1111 1111 1111")
    await chat.customer_message(customer, "number 4111 1111")
    clock.advance(5)
    await chat.release_due()
    clock.advance(5)
    await chat.customer_message(customer, "1111 1111")

    rows = await db.fetch_all("SELECT kind, message_id, content, state FROM outbox ORDER BY created_at, rowid")
    envelopes = [json.loads(row["content"]) for row in rows]
    assert {row["kind"] for row in rows} == {"chat"}
    assert {row["state"] for row in rows} == {"pending"}
    assert [(e["type"], e["text"]) for e in envelopes] == [
        ("chat.message", "my card is [CARD •••• 1111]"),
        ("chat.message", "number •••• ••••"),  # masked while a later message may complete it
        ("chat.replace", "number [CARD ••••]"),
        ("chat.message", "[CARD •••• 1111]"),
    ]
    first = envelopes[0]
    assert (first["direction"], first["sender"], first["agent"], first["entities"]) == (
        "inbound",
        "customer",
        None,
        {"CREDIT_CARD": 1},
    )
    assert first["case_id"] == customer.conversation_id
    assert first["case_reference"].startswith("SD-")
    assert envelopes[2]["message_id"] == envelopes[1]["message_id"]
    assert rows[2]["message_id"].startswith(envelopes[1]["message_id"] + "#replace-")
    assert b"4111 1111 1111 1111" not in b"".join(bytes(r["content"]) for r in rows)
