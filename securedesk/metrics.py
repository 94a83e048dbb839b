"""Prometheus metrics: one ``Metrics`` object with its own registry, built by the server and passed to whoever counts.

Label values are only channel names, entity types, decisions, outcomes, route templates and status classes. Every
label value is checked against a narrow pattern; anything else is counted as ``other``, so a value, customer id or
e-mail address can never become a time series even if a caller passes one by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

#: Text exposition format version 0.0.4: what every Prometheus server scrapes.
CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4

OTHER: Final = "other"

# Letters and underscores only: no digit can pass, so no card number, id or code; no "@", so no e-mail address.
_NAME = re.compile(r"[a-z][a-z_]{0,31}")
_ENTITY = re.compile(r"[A-Z][A-Z_]{0,39}")
# Route templates such as "/cases/{case_id}" — the template, never the raw path.
_ROUTE = re.compile(r"/[A-Za-z0-9_./{}:-]{0,99}")
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_SCREENING_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
_HTTP_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _checked(value: str, pattern: re.Pattern[str]) -> str:
    return value if pattern.fullmatch(value) else OTHER


def status_class(code: int) -> str:
    """``250`` → ``"2xx"``; anything outside 100–599 → ``"other"``."""
    return f"{code // 100}xx" if 100 <= code <= 599 else OTHER


class Metrics:
    """Every SecureDesk collector, in a private ``CollectorRegistry`` (never the global one)."""

    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        if process_metrics:
            ProcessCollector(registry=self.registry)
        r = self.registry
        self.messages_screened = Counter(
            "securedesk_messages_screened", "Messages screened, by channel.", ["channel"], registry=r
        )
        self.entities_detected = Counter(
            "securedesk_entities_detected",
            "Sensitive entities found by screening, by channel and entity type.",
            ["channel", "entity_type"],
            registry=r,
        )
        self.decisions = Counter(
            "securedesk_screening_decisions",
            "Screening decisions, by channel and decision.",
            ["channel", "decision"],
            registry=r,
        )
        self.holds = Counter(
            "securedesk_messages_held",
            "Messages held instead of delivered (detection failed or timed out, or policy said hold), by channel.",
            ["channel"],
            registry=r,
        )
        self.screening_seconds = Histogram(
            "securedesk_screening_duration_seconds",
            "Time to screen one message, by channel.",
            ["channel"],
            buckets=_SCREENING_BUCKETS,
            registry=r,
        )
        self.audit_write_failures = Counter(
            "securedesk_audit_write_failures",
            "Audit events that could not be written (the action was refused).",
            registry=r,
        )
        self.http_requests = Counter(
            "securedesk_http_requests",
            "HTTP requests, by method, route template and status code.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "securedesk_http_request_duration_seconds",
            "HTTP request duration, by route template.",
            ["route"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.websocket_connections = Gauge(
            "securedesk_websocket_connections", "Open WebSocket connections, by channel.", ["channel"], registry=r
        )
        self.websocket_closes = Counter(
            "securedesk_websocket_closes",
            "Closed WebSocket connections, by channel and outcome.",
            ["channel", "outcome"],
            registry=r,
        )
        self.smtp_replies = Counter(
            "securedesk_smtp_replies",
            "SMTP replies sent, by reply code class (2xx, 4xx, 5xx).",
            ["code_class"],
            registry=r,
        )

    # --- screening ------------------------------------------------------------------------------------------

    def record_screening(self, *, channel: str, decision: str, entities: Mapping[str, int], seconds: float) -> None:
        """One screened message: its decision, the count of each entity type found, and how long it took."""
        channel = _checked(channel, _NAME)
        self.messages_screened.labels(channel).inc()
        self.decisions.labels(channel, _checked(decision, _NAME)).inc()
        for entity_type, count in entities.items():
            if count > 0:
                self.entities_detected.labels(channel, _checked(entity_type, _ENTITY)).inc(count)
        self.screening_seconds.labels(channel).observe(seconds)

    def record_hold(self, *, channel: str) -> None:
        self.holds.labels(_checked(channel, _NAME)).inc()

    # --- audit ----------------------------------------------------------------------------------------------

    def record_audit_failure(self) -> None:
        self.audit_write_failures.inc()

    # --- HTTP and WebSocket ---------------------------------------------------------------------------------

    def record_http(self, *, method: str, route: str, status: int, seconds: float) -> None:
        route = _checked(route, _ROUTE)
        method = method if method in _METHODS else OTHER
        self.http_requests.labels(method, route, str(status) if 100 <= status <= 599 else OTHER).inc()
        self.http_seconds.labels(route).observe(seconds)

    def websocket_opened(self, *, channel: str) -> None:
        self.websocket_connections.labels(_checked(channel, _NAME)).inc()

    def websocket_closed(self, *, channel: str, outcome: str) -> None:
        channel = _checked(channel, _NAME)
        self.websocket_connections.labels(channel).dec()
        self.websocket_closes.labels(channel, _checked(outcome, _NAME)).inc()

    # --- SMTP -----------------------------------------------------------------------------------------------

    def record_smtp_reply(self, code: int) -> None:
        self.smtp_replies.labels(status_class(code)).inc()

    # --- exposition -----------------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The Prometheus text exposition of every collector (content type ``CONTENT_TYPE``)."""
        return generate_latest(self.registry)
