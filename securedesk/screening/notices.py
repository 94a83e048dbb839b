"""The customer-facing side of a decision: the links a nudge offers (built by the caller) and the localized nudge and
block notice texts (``securedesk.messages``)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeAlias

from securedesk import messages
from securedesk.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class NudgeLinks:
    """Where a customer can give a number safely: the protected form, the verified lookup, a call-back request."""

    form_url: str
    lookup_url: str
    callback_url: str

    def __post_init__(self) -> None:
        for name in ("form_url", "lookup_url", "callback_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://", "/")):
                raise InvalidInput(f"NudgeLinks.{name} must be an absolute URL or path.")

    @classmethod
    def for_base_url(cls, base_url: str) -> NudgeLinks:
        """The generic links under ``base_url`` (``Settings.public_base_url``): ``/forms``, ``/lookup``,
        ``/callback``. A caller that can open a form request for the case passes a ``LinkBuilder`` instead."""
        base = base_url.rstrip("/")
        return cls(form_url=f"{base}/forms", lookup_url=f"{base}/lookup", callback_url=f"{base}/callback")


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """What a ``LinkBuilder`` knows when it builds the links for one message (no values, only types and ids)."""

    channel: str
    lang: str
    case_id: str | None
    customer_id: str | None
    entity_types: tuple[str, ...]


#: Builds the links for one message, e.g. by opening a protected-form request for the case (sync or async).
LinkBuilder: TypeAlias = Callable[[LinkRequest], "NudgeLinks | Awaitable[NudgeLinks]"]
Links: TypeAlias = "NudgeLinks | LinkBuilder"


async def build_links(links: Links, request: LinkRequest) -> NudgeLinks:
    if isinstance(links, NudgeLinks):
        return links
    built = links(request)
    if inspect.isawaitable(built):
        built = await built
    if not isinstance(built, NudgeLinks):
        raise InvalidInput("A link builder must return NudgeLinks.")
    return built


def render_nudge(lang: str, links: NudgeLinks) -> str:
    """The nudge ("For your safety, we removed the number…") with the three links, in ``lang``."""
    return messages.render(
        "nudge.removed", lang, form_url=links.form_url, lookup_url=links.lookup_url, callback_url=links.callback_url
    )


def render_block_notice(lang: str, entity_types: tuple[str, ...], links: NudgeLinks) -> str:
    """The block notice ("Your message was not delivered because it contained…") in ``lang``."""
    return messages.render(
        "block.refused",
        lang,
        contents=messages.describe_entities(entity_types, lang),
        form_url=links.form_url,
        lookup_url=links.lookup_url,
        callback_url=links.callback_url,
    )
