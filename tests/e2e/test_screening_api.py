"""The screening API end to end: ``securedesk serve`` in a subprocess, keys made with the real CLI, every call over
real TLS with httpx. Screening with exact findings and vault tokens, numbers joined across calls of one
conversation, detokenize only with its scope, a reason and an audit event, and every refusal a problem document."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from chat_harness import raw_database
from e2e_harness import RunningServer, start_server

from securedesk import messages
from securedesk.client import ApiProblem, SecureDeskClient

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
IBAN = "GB82 WEST 1234 5698 7654 32"
SSN = "536-22-1847"
PROBLEM = "application/problem+json"


def add_key(server: RunningServer, name: str, *args: str) -> str:
    result = server.cli("api-keys", "add", name, *args)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("sdk_")
    return key


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("api"))
    yield server
    server.assert_clean_exit()


@pytest.fixture(scope="module")
def keys(api_server: RunningServer) -> dict[str, str]:
    return {
        "forum": add_key(api_server, "forum", "--scope", "screen,detokenize", "--channel", "forum"),
        "helpdesk": add_key(api_server, "helpdesk", "--scope", "screen,detokenize"),
        "screen-only": add_key(api_server, "screen-only", "--scope", "screen", "--channel", "forum"),
        "slow": add_key(api_server, "slow", "--scope", "screen", "--rate", "2"),
    }


def call(server: RunningServer, path: str, key: str | None, body: Any, **headers: str) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    if key is not None:
        sent["Authorization"] = f"Bearer {key}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with server.client() as client:
        return client.post(path, content=content, headers=sent)


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("/api/v1/problems/")
    assert problem["title"]
    assert problem["detail"]
    if field is not None:
        assert problem["field"] == field
    return problem


def test_a_post_is_screened_with_exact_findings_and_a_token_for_vaulted_values(
    api_server: RunningServer, keys: dict[str, str]
) -> None:
    body_text = f"Hi, my card {CARD} was charged twice. Refund to {IBAN} please."
    response = call(api_server, "/api/v1/screen", keys["forum"], {
        "channel": "forum",
        "lang": "en",
        "parts": [{"name": "title", "text": "Double charge"}, {"name": "body", "text": body_text}],
    })  # fmt: skip

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    result = response.json()
    assert result["decision"] == "deliver_with_nudge"
    assert result["lang"] == "en"
    assert result["parts"] == [
        {"name": "title", "text": "Double charge"},
        {"name": "body", "text": "Hi, my card [CARD •••• 1111] was charged twice. Refund to [IBAN •••• 5432] please."},
    ]
    card, iban = result["findings"]
    assert (card["type"], card["part"], card["action"], card["token"]) == ("CREDIT_CARD", "body", "redact", None)
    assert body_text[card["start"] : card["end"]] == CARD
    assert (iban["type"], iban["part"], iban["action"]) == ("IBAN_CODE", "body", "vault")
    assert body_text[iban["start"] : iban["end"]] == IBAN
    assert iban["token"].startswith("tok_")
    assert result["entities"] == {"CREDIT_CARD": 1, "IBAN_CODE": 1}
    base = api_server.base_url
    assert result["links"] == {"form": f"{base}/forms", "lookup": f"{base}/lookup", "callback": f"{base}/callback"}
    assert result["nudge"] == messages.render(
        "nudge.removed", "en", form_url=f"{base}/forms", lookup_url=f"{base}/lookup", callback_url=f"{base}/callback"
    )
    on_disk = raw_database(api_server)
    for canary in (CARD, CARD.replace(" ", ""), IBAN, IBAN.replace(" ", "")):
        assert canary.encode() not in on_disk


def test_french_and_swedish_texts_get_their_nudge(api_server: RunningServer, keys: dict[str, str]) -> None:
    base = api_server.base_url
    links = {"form_url": f"{base}/forms", "lookup_url": f"{base}/lookup", "callback_url": f"{base}/callback"}
    for lang, text in (("fr", f"Bonjour, mon numéro de carte est {CARD}, merci"),
                       ("sv", f"Hej, mitt kortnummer är {CARD}, tack")):  # fmt: skip
        result = call(api_server, "/api/v1/screen", keys["forum"], {"parts": [{"name": "body", "text": text}]}).json()
        assert (result["lang"], result["nudge"]) == (lang, messages.render("nudge.removed", lang, **links))


def test_a_number_typed_across_calls_of_one_conversation_is_found(
    api_server: RunningServer, keys: dict[str, str]
) -> None:
    def send(text: str, message_id: str) -> dict[str, Any]:
        response = call(api_server, "/api/v1/screen", keys["helpdesk"], {
            "conversation_id": "widget-42", "message_id": message_id, "parts": [{"name": "message", "text": text}],
        })  # fmt: skip
        assert response.status_code == 200, response.text
        return response.json()

    first = send("my SSN is 536-22", "m1")
    second = send("-1847", "m2")

    assert first["decision"] == "deliver"
    assert first["fragment_masked"] is True
    assert first["parts"][0]["text"] == "my SSN is •••-••"
    assert second["decision"] == "deliver_with_nudge"
    assert second["entities"] == {"US_SSN": 1}
    assert second["replacements"] == [{"message_id": "m1", "text": "my SSN is [SSN ••••]"}]
    assert second["parts"] == [{"name": "message", "text": "-[SSN •••• 1847]"}]
    # The same conversation id under another key is another conversation.
    other = call(api_server, "/api/v1/screen", keys["forum"], {
        "conversation_id": "widget-42", "parts": [{"name": "message", "text": "-1847"}],
    }).json()  # fmt: skip
    assert other["entities"] == {}


def test_detokenize_needs_the_scope_a_reason_and_the_same_key(api_server: RunningServer, keys: dict[str, str]) -> None:
    screened = call(api_server, "/api/v1/screen", keys["forum"], {"parts": [{"name": "b", "text": f"IBAN {IBAN}"}]})
    token = screened.json()["findings"][0]["token"]

    opened = call(api_server, "/api/v1/detokenize", keys["forum"], {"token": token, "reason": "refund ticket 77"})
    assert opened.status_code == 200, opened.text
    assert opened.json() == {"token": token, "value": IBAN.replace(" ", "")}
    assert opened.headers["cache-control"] == "no-store"

    assert_problem(
        call(api_server, "/api/v1/detokenize", keys["screen-only"], {"token": token, "reason": "refund ticket 77"}), 403
    )
    assert_problem(
        call(api_server, "/api/v1/detokenize", keys["helpdesk"], {"token": token, "reason": "refund ticket 77"}), 404
    )
    assert_problem(call(api_server, "/api/v1/detokenize", keys["forum"], {"token": token, "reason": "x"}), 400)
    events = audit_actions(api_server)
    assert ("secret.detokenize", "success", "api:forum") in events
    assert ("secret.detokenize", "denied", "api:screen-only") in events
    assert ("secret.detokenize", "denied", "api:helpdesk") in events


def audit_actions(server: RunningServer) -> list[tuple[str, str, str]]:
    with sqlite3.connect(server.settings.database_path) as db:
        return [tuple(row) for row in db.execute("SELECT action, outcome, actor FROM audit_events")]


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (b"{not json", {}, 400, None),
        (b"\xff\xfe{}", {}, 400, None),
        (b"[1, 2]", {}, 400, None),
        ({}, {}, 400, "parts"),
        ({"parts": []}, {}, 400, "parts"),
        ({"parts": [{"name": "b"}]}, {}, 400, "parts[0].text"),
        ({"parts": [{"name": "", "text": "x"}]}, {}, 400, "parts[0].name"),
        ({"parts": [{"name": "b", "text": "x"}], "extra": 1}, {}, 400, "extra"),
        ({"parts": [{"name": "b", "text": "x"}], "lang": "de"}, {}, 422, "lang"),
        ({"parts": [{"name": "b", "text": "x"}], "channel": "email"}, {}, 422, "channel"),
        ({"parts": [{"name": "b", "text": "x"}]}, {"Content-Type": "text/plain"}, 415, None),
        (b"[" * 100_000 + b"]" * 100_000, {}, 400, None),
    ],
)
def test_bad_requests_get_a_problem_document_naming_the_field(
    api_server: RunningServer, keys: dict[str, str], body: Any, headers: dict[str, str], status: int, field: str | None
) -> None:
    assert_problem(call(api_server, "/api/v1/screen", keys["forum"], body, **headers), status, field)


def test_an_oversized_body_is_413(api_server: RunningServer, keys: dict[str, str]) -> None:
    huge = {"parts": [{"name": "b", "text": "a" * (api_server.settings.max_request_bytes + 10)}]}
    assert_problem(call(api_server, "/api/v1/screen", keys["forum"], huge), 413)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer sdk_nope", "Basic Zm9vOmJhcg==", "Bearer " + "a" * 5000]
)
def test_a_bad_key_is_401_without_saying_why(api_server: RunningServer, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = call(api_server, "/api/v1/screen", None, {"parts": [{"name": "b", "text": "x"}]}, **headers)
    problem = assert_problem(response, 401)
    assert problem["detail"] == "The API key is missing, invalid or revoked."
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_rotated_and_revoked_keys_stop_working_at_once(api_server: RunningServer) -> None:
    old = add_key(api_server, "rotating", "--scope", "screen")
    rotated = api_server.cli("api-keys", "rotate", "rotating")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    body = {"parts": [{"name": "b", "text": "hello"}]}
    assert_problem(call(api_server, "/api/v1/screen", old, body), 401)
    assert call(api_server, "/api/v1/screen", new, body).status_code == 200
    assert api_server.cli("api-keys", "revoke", "rotating").returncode == 0
    assert_problem(call(api_server, "/api/v1/screen", new, body), 401)
    listing = api_server.cli("api-keys", "list", "--all").stdout
    assert "rotating" in listing
    assert "revoked" in listing
    assert new not in listing
    assert old not in listing


def test_over_the_rate_limit_is_429_with_retry_after(api_server: RunningServer, keys: dict[str, str]) -> None:
    body = {"parts": [{"name": "b", "text": "hello"}]}
    statuses = [call(api_server, "/api/v1/screen", keys["slow"], body).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = call(api_server, "/api/v1/screen", keys["slow"], body)
    assert_problem(limited, 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert ("api.screen", "denied", "api:slow") in audit_actions(api_server)


def test_a_text_that_cannot_be_screened_is_503_and_nothing_of_it_comes_back(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = start_server(tmp_path_factory.mktemp("api-hold"), detection_timeout_seconds="0.000000001")
    try:
        key = add_key(server, "forum", "--scope", "screen")
        response = call(server, "/api/v1/screen", key, {"parts": [{"name": "b", "text": f"card {CARD}"}]})
        problem = assert_problem(response, 503)
        assert problem["reason"] == "detection_timeout"
        assert "4111" not in response.text
    finally:
        server.assert_clean_exit()


def test_the_openapi_document_is_served(api_server: RunningServer) -> None:
    with api_server.client() as client:
        document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/api/v1/screen", "/api/v1/detokenize", "/api/v1/openapi.json"}
    assert document["servers"] == [{"url": api_server.base_url}]


def test_the_python_client(api_server: RunningServer, keys: dict[str, str]) -> None:
    with SecureDeskClient(api_server.base_url, keys["forum"], verify=str(api_server.ca_path)) as desk:
        result = desk.screen({"title": "Refund", "body": f"IBAN {IBAN}"}, lang="en")
        assert result.parts == {"title": "Refund", "body": "IBAN [IBAN •••• 5432]"}
        (finding,) = result.findings
        assert finding.token is not None
        assert desk.detokenize(finding.token, "refund for this post") == IBAN.replace(" ", "")
        with pytest.raises(ApiProblem) as refused:
            desk.screen({"body": "x"}, lang="de")
    assert (refused.value.status, refused.value.field) == (422, "lang")
