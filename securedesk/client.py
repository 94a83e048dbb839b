"""A small typed client for the screening API (httpx), for channels written in Python::

    from securedesk.client import SecureDeskClient

    with SecureDeskClient("https://desk.example", api_key, verify="certs/dev/ca.pem") as desk:
        result = desk.screen({"title": "Refund", "body": text}, lang="en")
        if result.decision != "block":
            publish(result.parts["body"])

Errors come back as ``ApiProblem`` (the RFC 9457 document's status, title, detail and field); a 503 means the
text could not be screened and must not be published. Stands alone: it imports nothing else from SecureDesk.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx


class ApiProblem(Exception):
    """An error answer of the API."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        super().__init__(f"{status} {title}: {detail}")


@dataclass(frozen=True)
class Finding:
    type: str
    part: str
    start: int
    end: int
    mask: str
    action: str
    token: str | None = None


@dataclass(frozen=True)
class ScreenResult:
    message_id: str
    decision: str  # deliver | deliver_with_nudge | block
    lang: str
    parts: dict[str, str]
    findings: tuple[Finding, ...]
    entities: dict[str, int]
    nudge: str | None = None
    links: dict[str, str] | None = None
    fragment_masked: bool = False
    replacements: dict[str, str] = field(default_factory=dict)  # earlier message id → text to show instead


class SecureDeskClient:
    def __init__(self, base_url: str, api_key: str, *, verify: str | bool = True, timeout: float = 10.0) -> None:
        """``verify``: True (the system's CAs), or the path of a CA file to trust (the dev CA, certs/dev/ca.pem)."""
        context = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            verify=context,
            timeout=timeout,
        )

    def screen(
        self,
        parts: Mapping[str, str],
        *,
        lang: str | None = None,
        channel: str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
    ) -> ScreenResult:
        body: dict[str, Any] = {"parts": [{"name": name, "text": text} for name, text in parts.items()]}
        for key, value in (("lang", lang), ("channel", channel), ("conversation_id", conversation_id),
                           ("message_id", message_id)):  # fmt: skip
            if value is not None:
                body[key] = value
        data = self._post("/api/v1/screen", body)
        return ScreenResult(
            message_id=data["message_id"],
            decision=data["decision"],
            lang=data["lang"],
            parts={part["name"]: part["text"] for part in data["parts"]},
            findings=tuple(Finding(**finding) for finding in data["findings"]),
            entities=dict(data["entities"]),
            nudge=data.get("nudge"),
            links=data.get("links"),
            fragment_masked=bool(data.get("fragment_masked")),
            replacements={item["message_id"]: item["text"] for item in data.get("replacements", [])},
        )

    def detokenize(self, token: str, reason: str) -> str:
        return str(self._post("/api/v1/detokenize", {"token": token, "reason": reason})["value"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SecureDeskClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {}
            raise ApiProblem(
                response.status_code,
                str(problem.get("title", response.reason_phrase)),
                str(problem.get("detail", "")),
                problem.get("field"),
            )
        data: dict[str, Any] = response.json()
        return data
