"""Live chat end to end: ``securedesk serve`` in a subprocess, real WebSocket clients over TLS for customers and an
agent logged in through the real login form (password + TOTP). Cards typed in one message, in two fragments, and
in French and Swedish sentences never reach the agent nor the database files in clear; the nudge arrives in the
customer's language with three working links; the handshake and frame limits hold; disabling an agent closes their
WebSocket."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from chat_harness import (
    CHAT_COOKIE,
    STAFF_COOKIE,
    Socket,
    StaffMember,
    add_staff,
    agent_socket,
    chat_cookie,
    customer,
    login,
    open_socket,
    raw_database,
    session_cookie,
)
from e2e_harness import RunningServer, start_server
from websockets.exceptions import InvalidStatus

from securedesk import messages

pytestmark = pytest.mark.e2e

#: (language, messages as typed, the card number in them)
SCENARIOS = (
    ("en", ("Hi, my card is 4111 1111 1111 1111, can you check the charge?",), "4111111111111111"),
    ("en", ("my card number is 5555 5555", "5555 4444 thanks"), "5555555555554444"),
    ("fr", ("Bonjour, voici ma carte bancaire 6011 1111 1111 1117, merci de vérifier",), "6011111111111117"),
    ("sv", ("Hej, mitt kortnummer är 3530 1113 3330 0000, kan ni kolla?",), "3530111333300000"),
)


def canaries(card: str) -> list[bytes]:
    """The number digits-only and in the groupings customers type."""
    groups = [card[i : i + 4] for i in range(0, len(card), 4)]
    return [card.encode(), " ".join(groups).encode(), "-".join(groups).encode()]


def delivered_to(agent: Socket, conversation: str) -> int:
    return sum(1 for f in agent.of_type("message") if f["case"]["id"] == conversation)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("chat"), chat_session_check_seconds="1", chat_messages_per_minute="20"
    )
    yield server
    server.assert_clean_exit()


@pytest.fixture(scope="module")
def agnes(chat_server: RunningServer) -> StaffMember:
    return add_staff(chat_server, "agnes")


@pytest.fixture(scope="module")
def agnes_client(chat_server: RunningServer, agnes: StaffMember) -> Iterator[httpx.Client]:
    client = login(chat_server, agnes)
    yield client
    client.close()


async def test_cards_never_reach_the_agent_or_the_database_in_clear(
    chat_server: RunningServer, agnes_client: httpx.Client
) -> None:
    async with agent_socket(chat_server, agnes_client) as agent:
        for lang, texts, _card in SCENARIOS:
            async with customer(chat_server, lang) as person:
                conversation = person.frames[0]["conversation"]
                for text in texts:
                    await person.send({"type": "message", "text": text, "client_id": "c"})
                await person.wait_for(lambda f: f["type"] == "notice" and f["kind"] == "nudge")
                count = len(texts)
                await until(lambda c=conversation, n=count: delivered_to(agent, c) == n)
        seen = agent.text().encode()
        shown = [f["message"]["text"] for f in agent.of_type("message")]

    assert shown == [
        "Hi, my card is [CARD •••• 1111], can you check the charge?",
        "my card number is [CARD ••••]",
        "[CARD •••• 4444] thanks",
        "Bonjour, voici ma carte bancaire [CARD •••• 1117], merci de vérifier",
        "Hej, mitt kortnummer är [CARD •••• 0000], kan ni kolla?",
    ]
    on_disk = raw_database(chat_server)
    for _lang, _texts, card in SCENARIOS:
        for canary in canaries(card):
            assert canary not in seen, canary
            assert canary not in on_disk, canary
    assert b"5555 5555" not in seen  # the first fragment was masked before the agent ever saw it


@pytest.mark.parametrize("lang", ["fr", "sv", "en"])
async def test_the_nudge_comes_in_the_customers_language_with_three_working_links(
    chat_server: RunningServer, lang: str
) -> None:
    async with customer(chat_server, lang) as person:
        await person.send({"type": "message", "text": "4111 1111 1111 1111", "client_id": "c1"})
        notice = await person.wait_for(lambda f: f["type"] == "notice")

    links = re.findall(r"https://\S+", notice["text"])
    base = chat_server.base_url
    assert len(links) == 3
    form_url, lookup_url, callback_url = links
    assert notice["kind"] == "nudge"
    assert notice["text"] == messages.render(
        "nudge.removed", lang, form_url=form_url, lookup_url=lookup_url, callback_url=callback_url
    )
    assert re.fullmatch(rf"{re.escape(base)}/forms/[A-Za-z0-9_-]{{43}}", form_url)
    assert lookup_url.startswith(f"{base}/lookup")
    assert callback_url.startswith(f"{base}/callback?case=")
    assert callback_url.endswith(f"&lang={lang}")
    with chat_server.client() as client:
        for link in links:
            page = client.get(link.removeprefix(base), headers={"Accept": "text/html"})
            assert page.status_code == 200, (link, page.status_code)


async def test_an_agent_reply_is_screened_and_reaches_the_customer(
    chat_server: RunningServer, agnes_client: httpx.Client
) -> None:
    async with agent_socket(chat_server, agnes_client) as agent, customer(chat_server, "en") as person:
        conversation = person.frames[0]["conversation"]
        await person.send({"type": "message", "text": "Hello, I need help", "client_id": "c1"})
        await agent.wait_for(lambda f: f["type"] == "message" and f["case"]["id"] == conversation)

        await agent.send(
            {"type": "reply", "case_id": conversation, "text": "Is it card 4111 1111 1111 1111?", "client_id": "r1"}
        )
        result = await agent.wait_for(lambda f: f["type"] == "reply_result")
        received = await person.wait_for(lambda f: f["type"] == "message" and f["sender"] == "agent")

    assert (result["status"], result["text"]) == ("sent", "Is it card [CARD •••• 1111]?")
    assert received["text"] == "Is it card [CARD •••• 1111]?"
    assert b"4111111111111111" not in raw_database(chat_server)


async def test_handshakes_from_other_origins_or_without_a_conversation_are_refused(
    chat_server: RunningServer, agnes_client: httpx.Client
) -> None:
    cookie = chat_cookie(chat_server)
    staff = f"{STAFF_COOKIE}={session_cookie(agnes_client)}"
    attempts = [
        ("/chat/ws", cookie, "https://evil.example"),
        ("/chat/ws", None, None),
        ("/chat/ws", f"{CHAT_COOKIE}=case_000000000000000000000000.9999999999.1.forged", None),
        ("/agent/ws", staff, "https://evil.example"),
        ("/agent/ws", None, None),
    ]
    for path, with_cookie, origin in attempts:
        with pytest.raises(InvalidStatus) as refused:
            await open_socket(chat_server, path, cookie=with_cookie, origin=origin)
        assert refused.value.response.status_code == 403, (path, origin)


async def test_an_oversize_frame_closes_with_1009(chat_server: RunningServer) -> None:
    async with customer(chat_server) as person:
        await person.send({"type": "message", "text": "a" * 20_000})
        assert await person.wait_closed() == 1009


async def test_too_many_messages_close_with_1008(chat_server: RunningServer) -> None:
    async with customer(chat_server) as person:
        for _ in range(21):  # the module's server allows 20 a minute
            await person.send({"type": "message", "text": "is anyone there?"})
        assert await person.wait_closed() == 1008
        assert len(person.of_type("message")) == 20


async def test_a_malformed_frame_closes_with_1007(chat_server: RunningServer) -> None:
    async with customer(chat_server) as person:
        await person.connection.send("not json")
        assert await person.wait_closed() == 1007


async def test_disabling_an_agent_closes_their_websocket(chat_server: RunningServer) -> None:
    dora = add_staff(chat_server, "dora")
    client = login(chat_server, dora)
    try:
        async with agent_socket(chat_server, client) as agent:
            result = await asyncio.to_thread(chat_server.cli, "users", "disable", "dora")
            assert result.returncode == 0, result.stderr
            assert await agent.wait_closed(within=15) == 1008
    finally:
        client.close()
