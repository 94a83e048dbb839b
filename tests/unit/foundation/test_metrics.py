"""Metrics: counts by safe labels only, in a private registry; anything that looks like a value becomes "other"."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from securedesk.metrics import CONTENT_TYPE, Metrics, status_class


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_screening_is_counted_by_channel_decision_and_entity_type() -> None:
    metrics = Metrics(process_metrics=False)
    metrics.record_screening(
        channel="chat", decision="deliver_with_nudge", entities={"CREDIT_CARD": 2, "IBAN_CODE": 0}, seconds=0.003
    )
    metrics.record_screening(channel="email", decision="hold", entities={}, seconds=0.2)
    metrics.record_hold(channel="email")

    samples = _samples(metrics)
    assert samples[("securedesk_messages_screened_total", (("channel", "chat"),))] == 1
    assert samples[("securedesk_entities_detected_total", (("channel", "chat"), ("entity_type", "CREDIT_CARD")))] == 2
    assert ("securedesk_entities_detected_total", (("channel", "chat"), ("entity_type", "IBAN_CODE"))) not in samples
    decision = (("channel", "chat"), ("decision", "deliver_with_nudge"))
    assert samples[("securedesk_screening_decisions_total", decision)] == 1
    assert samples[("securedesk_messages_held_total", (("channel", "email"),))] == 1
    assert samples[("securedesk_screening_duration_seconds_bucket", (("channel", "chat"), ("le", "0.005")))] == 1
    assert samples[("securedesk_screening_duration_seconds_bucket", (("channel", "chat"), ("le", "0.0025")))] == 0


@pytest.mark.parametrize(
    "leaky",
    ["4111111111111111", "alice@example.com", "tok_3f9a", "chat 4111", "Chat", "x" * 40, "cust-42", ""],
)
def test_values_never_become_label_values(leaky: str) -> None:
    metrics = Metrics(process_metrics=False)
    metrics.record_screening(channel=leaky, decision=leaky, entities={leaky: 1}, seconds=0.01)
    metrics.record_http(method=leaky, route=leaky if leaky.startswith("/") else f"/{leaky} x", status=200, seconds=0.1)
    metrics.websocket_opened(channel=leaky)

    text = metrics.render().decode()
    if leaky:
        assert leaky not in text.replace("securedesk_", "")
    assert 'channel="other"' in text
    assert 'entity_type="other"' in text


def test_http_requests_and_status_classes() -> None:
    metrics = Metrics(process_metrics=False)
    metrics.record_http(method="GET", route="/cases/{case_id}", status=200, seconds=0.02)
    metrics.record_http(method="BREW", route="/", status=999, seconds=0.02)
    for code in (250, 451, 550, 554):
        metrics.record_smtp_reply(code)
    metrics.record_audit_failure()
    metrics.websocket_opened(channel="chat")
    metrics.websocket_opened(channel="chat")
    metrics.websocket_closed(channel="chat", outcome="going_away")

    samples = _samples(metrics)
    key = (("method", "GET"), ("route", "/cases/{case_id}"), ("status", "200"))
    assert samples[("securedesk_http_requests_total", key)] == 1
    assert samples[("securedesk_http_requests_total", (("method", "other"), ("route", "/"), ("status", "other")))] == 1
    assert samples[("securedesk_smtp_replies_total", (("code_class", "2xx"),))] == 1
    assert samples[("securedesk_smtp_replies_total", (("code_class", "5xx"),))] == 2
    assert samples[("securedesk_audit_write_failures_total", ())] == 1
    assert samples[("securedesk_websocket_connections", (("channel", "chat"),))] == 1
    assert samples[("securedesk_websocket_closes_total", (("channel", "chat"), ("outcome", "going_away")))] == 1


@pytest.mark.parametrize(
    ("code", "expected"), [(250, "2xx"), (421, "4xx"), (599, "5xx"), (99, "other"), (600, "other")]
)
def test_status_class(code: int, expected: str) -> None:
    assert status_class(code) == expected


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.record_audit_failure()

    assert _samples(first)[("securedesk_audit_write_failures_total", ())] == 1
    assert _samples(second)[("securedesk_audit_write_failures_total", ())] == 0
    assert any(name.startswith("process_") for name, _ in _samples(first))
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
