from __future__ import annotations

import hashlib

import pytest

from securedesk.audit import GENESIS_HASH, ChainWalk, content_hash, event_hash, link_hash
from securedesk.audit.chain import CONTENT_FIELDS, canonical_json
from securedesk.storage.audit_events import AuditEvent


def _event(**changes: object) -> AuditEvent:
    values: dict[str, object] = {
        "seq": 1,
        "time": "2027-01-15T08:00:00.000000Z",
        "actor": "alice",
        "role": "agent",
        "origin_ip": "192.0.2.1",
        "channel": "web",
        "action": "secret.reveal",
        "target": "tok_abc",
        "outcome": "success",
        "reason": "customer asked",
        "prev_hash": GENESIS_HASH,
        "hash": "",
    }
    values.update(changes)
    return AuditEvent(**values)  # type: ignore[arg-type]


def test_content_hash_is_sha256_of_the_documented_encoding() -> None:
    # The encoding, spelled out by hand: keys sorted, no spaces, UTF-8, null for None.
    expected = (
        '{"action":"secret.reveal","actor":"alice","channel":"web","origin_ip":"192.0.2.1","outcome":"success",'
        '"reason":"customer asked","role":"agent","target":"tok_abc","time":"2027-01-15T08:00:00.000000Z"}'
    )
    assert content_hash(_event()) == hashlib.sha256(expected.encode()).hexdigest()


def test_link_hash_is_sha256_of_the_documented_encoding() -> None:
    content = "ab" * 32
    expected = f'{{"content_hash":"{content}","prev_hash":"{GENESIS_HASH}","seq":7,"v":1}}'
    assert link_hash(7, GENESIS_HASH, content) == hashlib.sha256(expected.encode()).hexdigest()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"origin_ip": None, "reason": None},
        {"reason": 'quote " backslash \\ slash / newline \n tab \t bell \x07 del \x7f'},
        {"actor": "Åsa Öberg", "target": "café", "reason": "日本語 😀 \u2028 \u2029"},
        {"reason": "", "target": ""},
        {"actor": "=cmd|' /C calc'!A0", "reason": "+1-2@3"},
    ],
)
def test_fast_content_hash_equals_canonical_json(changes: dict[str, object]) -> None:
    event = _event(**changes)
    fields = {name: getattr(event, name) for name in CONTENT_FIELDS}
    assert content_hash(event) == hashlib.sha256(canonical_json(fields)).hexdigest()


def test_non_ascii_is_kept_as_utf8_not_escaped() -> None:
    assert canonical_json({"b": "é", "a": None}) == '{"a":null,"b":"é"}'.encode()


@pytest.mark.parametrize(
    "field", ["time", "actor", "role", "origin_ip", "channel", "action", "target", "outcome", "reason"]
)
def test_every_content_field_changes_the_hash(field: str) -> None:
    base = _event()
    changed = _event(**{field: "x"})
    assert event_hash(base) != event_hash(changed)


def test_sequence_and_previous_hash_change_the_hash() -> None:
    base = _event()
    assert event_hash(base) != event_hash(_event(seq=2))
    assert event_hash(base) != event_hash(_event(prev_hash="1" * 64))


def _chain(count: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        draft = _event(seq=seq, target=f"case_{seq}", prev_hash=prev)
        event = _event(seq=seq, target=f"case_{seq}", prev_hash=prev, hash=event_hash(draft))
        events.append(event)
        prev = event.hash
    return events


def test_walk_accepts_a_valid_chain_and_confirms_anchors() -> None:
    events = _chain(5)
    walk = ChainWalk(anchors={3: [events[2].hash]})
    assert all(walk.feed_event(e) for e in events)
    report = walk.report()
    assert (report.ok, report.events_checked, report.last_sequence, report.checkpoint_sequences) == (True, 5, 5, (3,))
    assert report.head_hash == events[-1].hash


def test_walk_names_a_missing_first_event() -> None:
    events = _chain(3)
    walk = ChainWalk()
    assert not walk.feed_event(events[1])
    report = walk.report()
    assert (report.first_bad_sequence, report.problem) == (1, "missing")


def test_walk_stops_at_the_first_failure() -> None:
    events = _chain(4)
    bad = _event(**{**events[1].as_dict(), "actor": "mallory"})
    walk = ChainWalk()
    results = [walk.feed_event(e) for e in (events[0], bad, events[2], events[3])]
    assert results == [True, False, False, False]
    assert (walk.report().first_bad_sequence, walk.report().problem) == (2, "hash_mismatch")
