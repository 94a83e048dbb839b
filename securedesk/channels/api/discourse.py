"""Reference integration: a Discourse forum's posts screened through the screening API, numbers edited out in place.

Discourse (https://meta.discourse.org/t/49045, "Configure webhooks that trigger on Discourse events") POSTs each
event as JSON with ``X-Discourse-Event`` (``post_created``, ``post_edited``, ``ping``, …) and
``X-Discourse-Event-Signature: sha256=<hex HMAC-SHA256 of the raw body under the webhook's secret>``; a post event's
body is ``{"post": {"id": …, "raw": "…", "topic_id": …, …}}``. Each new or edited post's ``raw`` text is screened as
the channel ``discourse`` (policy channel ``api``, the same Screener and audit log as every other channel); when
something was masked, the post is rewritten through Discourse's API (``PUT /posts/{id}.json`` with
``{"post": {"raw": "…", "edit_reason": "…"}}``, authenticated by the ``Api-Key`` and ``Api-Username`` headers).
Our own edit comes back as ``post_edited`` and screens clean, so it ends there.

Fails closed: a post that cannot be screened, or whose edit Discourse refuses, is answered 503/502 so the webhook is
marked failed in Discourse's admin (and redelivered from there); nothing of the post is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Final

import httpx

from securedesk.channels.api.service import Part, ScreeningApi
from securedesk.errors import DeliveryError, InvalidInput
from securedesk.identity.api_keys import SCOPE_SCREEN, ApiPrincipal
from securedesk.screening import Decision
from securedesk.sensitive import Sensitive

logger = logging.getLogger("securedesk.channels.discourse")

CHANNEL: Final = "discourse"
POST_EVENTS: Final = frozenset({"post_created", "post_edited"})
EDIT_REASON: Final = "SecureDesk removed a payment card or identity number for the author's safety"
#: The integration acts as this caller of the screening API (its vaulted values are marked ``api:discourse``).
PRINCIPAL: Final = ApiPrincipal(
    key_id="integration:discourse", name="discourse", scopes=frozenset({SCOPE_SCREEN}), channel=CHANNEL,
    rate_per_minute=100_000,
)  # fmt: skip


@dataclass(frozen=True)
class DiscourseConfig:
    base_url: str
    api_username: str
    api_key: Sensitive
    webhook_secret: Sensitive
    verify: Any = True  # an ssl.SSLContext, or True for the system's CAs
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class WebhookOutcome:
    status: str  # "ignored", "clean", "redacted", "held"
    post_id: int | None = None
    entities: int = 0


class DiscourseIntegration:
    def __init__(self, api: ScreeningApi, config: DiscourseConfig) -> None:
        self._api = api
        self._config = config

    def signature_valid(self, body: bytes, header: str | None) -> bool:
        expected = "sha256=" + hmac.new(self._config.webhook_secret.reveal().encode(), body, hashlib.sha256).hexdigest()
        return header is not None and hmac.compare_digest(expected.encode(), header.strip().encode("ascii", "replace"))

    async def handle(self, event: str | None, body: bytes) -> WebhookOutcome:
        """Screen one webhook event's post and edit it when something was masked. ``InvalidInput`` for a body that
        is not a Discourse post event, ``DeliveryError`` when Discourse refuses the edit."""
        if event not in POST_EVENTS:
            return WebhookOutcome("ignored")
        post = _post_of(body)
        post_id, raw = post["id"], post["raw"]
        result = await self._api.screen(PRINCIPAL, [Part("raw", raw)], lang=None)
        if result.decision is Decision.HOLD:
            return WebhookOutcome("held", post_id)
        count = sum(result.result.screened.entities.values())
        if count == 0:
            return WebhookOutcome("clean", post_id)
        await self._edit(post_id, result.parts[0].text)
        logger.info("discourse.post_redacted", extra={"fields": {"post_id": post_id, "entities": count}})
        return WebhookOutcome("redacted", post_id, count)

    async def _edit(self, post_id: int, raw: str) -> None:
        config = self._config
        headers = {"Api-Key": config.api_key.reveal(), "Api-Username": config.api_username}
        payload = {"post": {"raw": raw, "edit_reason": EDIT_REASON}}
        try:
            async with httpx.AsyncClient(verify=config.verify, timeout=config.timeout_seconds) as http:
                response = await http.put(f"{config.base_url.rstrip('/')}/posts/{post_id}.json", json=payload,
                                          headers=headers)  # fmt: skip
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"Discourse could not be reached to edit post {post_id} ({type(exc).__name__})."
            ) from None
        if response.status_code >= 300:
            raise DeliveryError(f"Discourse refused the edit of post {post_id} (HTTP {response.status_code}).")


def _post_of(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidInput("The webhook body is not UTF-8 JSON.") from None
    post = data.get("post") if isinstance(data, dict) else None
    if not isinstance(post, dict) or not isinstance(post.get("id"), int) or not isinstance(post.get("raw"), str):
        raise InvalidInput("The webhook body has no post with an integer id and a raw text.")
    return post
