"""The agent console end to end over TLS: the live list and the case page (masked transcript, every vaulted item of the
case, including one submitted through the protected form), and the reveal — POST only, reason required, a fresh
second factor (step-up), audited before the value is shown, shown once with ``no-store``, rate-limited — plus the
object-level checks on cases outside an agent's queues."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from chat_harness import HTML, StaffMember, add_staff, csrf_of, customer, login, page_text
from e2e_harness import RunningServer, start_server

pytestmark = pytest.mark.e2e

STEP_UP_SECONDS = 3


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("console"), step_up_seconds=str(STEP_UP_SECONDS), reveal_max_per_hour="2"
    )
    yield server
    server.assert_clean_exit()


@pytest.fixture(scope="module")
def agnes(console_server: RunningServer) -> StaffMember:
    return add_staff(console_server, "agnes")


async def case_with_a_form_card(server: RunningServer) -> tuple[str, str]:
    """A chat where the customer typed a card, was nudged, and then gave it through the protected form; returns the
    case id and the form link."""
    async with customer(server, "en") as person:
        await person.send({"type": "message", "text": "please refund my card 4111 1111 1111 1111", "client_id": "c1"})
        notice = await person.wait_for(lambda f: f["type"] == "notice")
        conversation = person.frames[0]["conversation"]
    form_url = re.findall(r"https://\S+", notice["text"])[0]
    path = form_url.removeprefix(server.base_url)
    with server.client() as client:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200
        done = client.post(
            path,
            data={"csrf_token": csrf_of(page.text), "card_number": "4111 1111 1111 1111"},
            headers={**HTML, "Origin": server.base_url},
        )
        assert done.status_code == 200, page_text(done.text)[:500]
    return conversation, form_url


def audit_events(server: RunningServer, action: str) -> list[dict[str, object]]:
    result = server.cli("audit", "search", "--action", action, "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def reveal(client: httpx.Client, case_id: str, page: str, reason: str) -> httpx.Response:
    token = re.search(r'name="token" value="(tok_[a-z2-7]+)"', page)
    assert token is not None
    return client.post(
        f"/agent/cases/{case_id}/reveal",
        data={
            "csrf_token": csrf_of(page),
            "return_to": f"/agent/cases/{case_id}",
            "token": token.group(1),
            "reason": reason,
        },
        headers={**HTML, "Origin": str(client.base_url).rstrip("/")},
    )


async def test_the_console_shows_masked_cases_and_reveals_with_reason_and_step_up(
    console_server: RunningServer, agnes: StaffMember
) -> None:
    case_id, _ = await case_with_a_form_card(console_server)
    with contextlib.closing(login(console_server, agnes)) as client:
        listing = client.get("/agent", headers=HTML)
        assert listing.status_code == 200
        assert f"/agent/cases/{case_id}" in listing.text

        case_page = client.get(f"/agent/cases/{case_id}", headers=HTML)
        text = page_text(case_page.text)
        assert case_page.status_code == 200
        assert case_page.headers["cache-control"] == "no-store"
        assert "VISA •••• 1111 (submitted via form)" in text
        assert "please refund my card [CARD •••• 1111]" in text
        assert "4111" not in text.replace("•••• 1111", "")

        refused = reveal(client, case_id, case_page.text, "  ")
        assert refused.status_code == 422
        assert "State why you need to see this value" in page_text(refused.text)

        await asyncio.sleep(STEP_UP_SECONDS + 0.5)  # the login's code is too old now
        stale = reveal(client, case_id, case_page.text, "customer asked for a refund to this card")
        assert stale.status_code == 403
        assert 'action="/step-up"' in stale.text
        assert "4111 1111 1111 1111" not in page_text(stale.text)
        stepped = client.post(
            "/step-up",
            data={"csrf_token": csrf_of(stale.text), "return_to": f"/agent/cases/{case_id}", "code": agnes.next_code()},
            headers={**HTML, "Origin": console_server.base_url},
        )
        assert (stepped.status_code, stepped.headers["location"]) == (303, f"/agent/cases/{case_id}")

        shown = reveal(client, case_id, case_page.text, "customer asked for a refund to this card")
        assert shown.status_code == 200
        assert "4111 1111 1111 1111" in page_text(shown.text)
        assert shown.headers["cache-control"] == "no-store"
        assert "4111" not in str(shown.url)

        second = reveal(client, case_id, case_page.text, "checking the refund went through")
        assert second.status_code == 200
        limited = reveal(client, case_id, case_page.text, "one more time")
        assert limited.status_code == 429  # two reveals an hour on this server

    events = audit_events(console_server, "secret.reveal")
    outcomes = sorted((e["outcome"], e["reason"]) for e in events)
    assert outcomes == [
        ("denied", "rate limit reached"),
        ("success", "checking the refund went through"),
        ("success", "customer asked for a refund to this card"),
    ]
    assert all(e["actor"] == "agnes" for e in events)
    # The case page, and its two re-renders with an error (no reason; over the limit).
    assert len(audit_events(console_server, "case.view")) == 3


async def test_cases_of_other_queues_are_not_found_and_other_roles_are_refused(
    console_server: RunningServer,
) -> None:
    async with customer(console_server, "en") as person:
        await person.send({"type": "message", "text": "hello", "client_id": "c1"})
        await person.wait_for(lambda f: f["type"] == "message")
        case_id = person.frames[0]["conversation"]
    billing = add_staff(console_server, "bill", queues="billing")
    compliance = add_staff(console_server, "carla", role="compliance", queues="")

    with contextlib.closing(login(console_server, billing)) as client:
        assert client.get(f"/agent/cases/{case_id}", headers=HTML).status_code == 404
        assert client.get("/agent/cases/case_000000000000000000000000", headers=HTML).status_code == 404
        assert f"/agent/cases/{case_id}" not in client.get("/agent", headers=HTML).text
    with contextlib.closing(login(console_server, compliance)) as client:
        assert client.get("/agent", headers=HTML).status_code == 403
        assert client.get(f"/agent/cases/{case_id}", headers=HTML).status_code == 403
    with console_server.client(follow_redirects=False) as anonymous:
        response = anonymous.get(f"/agent/cases/{case_id}", headers=HTML)
        assert (response.status_code, response.headers["location"]) == (302, "/login")
