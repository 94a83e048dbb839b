"""Chat sessions replayed through the real server as customers type them: every entity type split over two or three
messages, with pauses and small talk between the parts, at a typist's pace and at a slow one (past the fragment
hold time, so held fragments leave masked on the timer). The conversations run at the same time against one agent
console. Whatever the pace, the agent never receives a part of the number in clear (masks aside), the stored
conversation ends with the number masked, and the database files never hold it."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from chat_harness import Socket, add_staff, agent_socket, customer, login, raw_database
from e2e_harness import RunningServer, start_server

pytestmark = pytest.mark.e2e

#: Seconds between two messages: a quick typist (inside the 2 s hold), and slower than the hold time.
PACES = (0.3, 3.5, 9.0)


@dataclass(frozen=True)
class Session:
    lang: str
    messages: tuple[str, ...]
    fragments: tuple[str, ...]  # the parts of the number, as typed
    digits: str  # the whole number, letters and digits only
    label: str  # what its mask says
    paces: tuple[float, ...] = PACES

    @property
    def name(self) -> str:
        return f"{self.lang}-{self.label}-{len(self.messages)}"


SESSIONS = (
    Session("en", ("my card is 4111 1111", "1111 1111"), ("4111 1111", "1111 1111"), "4111111111111111", "CARD"),
    Session(
        "en",
        ("Card number 5555 5555", "hang on, getting my card", "the rest: 5555 4444"),
        ("5555 5555", "5555 4444"),
        "5555555555554444",
        "CARD",
    ),
    Session(
        "fr",
        ("ma carte 4000 0566 5566", "attendez", "et 5556"),
        ("4000 0566 5566", "5556"),
        "4000056655665556",
        "CARD",
    ),
    Session("en", ("my SSN is 536-22", "-1847"), ("536-22", "1847"), "536221847", "SSN"),
    Session(
        "fr",
        ("Mon numéro de sécurité sociale 1 84 12 75", "108 045 28"),
        ("1 84 12 75", "108 045 28"),
        "1841275108045",
        "FR_NIR",
    ),
    Session(
        "sv",
        ("mitt personnummer är 811218", "vänta", "9876 tack"),
        ("811218", "9876"),
        "8112189876",
        "PERSONNUMMER",
    ),
    Session(
        "en",
        ("IBAN GB82 WEST", "1234 5698", "7654 32"),
        ("GB82 WEST", "1234 5698", "7654 32"),
        "GB82WEST12345698765432",
        "IBAN",
    ),
    Session(  # the number alone, its label in the message before
        "en", ("my SSN is", "536221847"), ("536221847",), "536221847", "SSN", paces=(0.3, 3.5)
    ),
    Session(  # one group per message, with a pause in the middle
        "fr",
        ("mon IBAN FR76", "3000", "6000", "attendez", "0112", "3456", "7890", "189"),
        ("FR76", "3000", "6000", "0112", "3456", "7890"),
        "FR7630006000011234567890189",
        "IBAN",
        paces=(0.3, 3.5),
    ),
)

_MASK = re.compile(r"\[[A-Z_]+(?: [^\]]*)?\]")


@pytest.fixture(scope="module")
def replay_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("replay"))
    yield server
    server.assert_clean_exit()


@pytest.fixture(scope="module")
def agent_client(replay_server: RunningServer) -> Iterator[httpx.Client]:
    client = login(replay_server, add_staff(replay_server, "rita"))
    yield client
    client.close()


def seen_by_agent(agent: Socket, conversation: str) -> str:
    """Everything the agent received about one conversation, message frames and replacements, masks removed."""
    texts = [f["message"]["text"] for f in agent.of_type("message") if f["case"]["id"] == conversation]
    texts += [f["text"] for f in agent.of_type("replace") if f["case_id"] == conversation]
    return _MASK.sub("[]", "\n".join(texts))


def shown_now(agent: Socket, conversation: str) -> list[str]:
    """The conversation as the agent's console shows it after replacements: message id → latest text."""
    shown: dict[str, str] = {}
    for frame in agent.frames:
        if frame.get("type") == "message" and frame["case"]["id"] == conversation:
            shown[frame["message"]["id"]] = frame["message"]["text"]
        elif frame.get("type") == "replace" and frame["case_id"] == conversation:
            shown[frame["message_id"]] = frame["text"]
    return list(shown.values())


async def replay(server: RunningServer, agent: Socket, session: Session, pace: float) -> tuple[str, str, list[str]]:
    async with customer(server, session.lang) as person:
        conversation = person.frames[0]["conversation"]
        for index, text in enumerate(session.messages):
            if index:
                await asyncio.sleep(pace)
            await person.send({"type": "message", "text": text, "client_id": f"c{index}"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            shown = shown_now(agent, conversation)
            if len(shown) == len(session.messages) and any(f"[{session.label}" in text for text in shown):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # any late replacement arrives too
        return conversation, seen_by_agent(agent, conversation), shown_now(agent, conversation)


async def test_numbers_typed_over_several_messages_never_reach_the_agent(
    replay_server: RunningServer, agent_client: httpx.Client
) -> None:
    runs = [(session, pace) for session in SESSIONS for pace in session.paces]
    async with agent_socket(replay_server, agent_client) as agent:
        results = await asyncio.gather(*(replay(replay_server, agent, session, pace) for session, pace in runs))

    problems = []
    for (session, pace), (_conversation, seen, shown) in zip(runs, results, strict=True):
        where = f"{session.name} at {pace}s"
        if len(shown) != len(session.messages):
            problems.append(f"{where}: the agent got {len(shown)} of {len(session.messages)} messages: {shown}")
        if not any(f"[{session.label}" in text for text in shown):
            problems.append(f"{where}: no {session.label} mask in {shown}")
        problems += [f"{where}: {fragment!r} reached the agent" for fragment in session.fragments if fragment in seen]
        if session.digits in re.sub(r"[\W_]", "", seen):
            problems.append(f"{where}: the whole number reached the agent")
    on_disk = raw_database(replay_server)
    for session in SESSIONS:
        for canary in (session.digits, *(f for f in session.fragments if len(re.sub(r"\W", "", f)) >= 6)):
            if canary.encode() in on_disk:
                problems.append(f"{session.name}: {canary!r} is in the database files")
    assert problems == []
