from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from securedesk.audit import AuditFilters, AuditLog, Page, event_hash, link_hash, parse_export, verify_export
from securedesk.audit.chain import content_hash
from securedesk.audit.export import CSV_COLUMNS
from securedesk.clock import FixedClock
from securedesk.errors import ConfigError, InvalidInput
from securedesk.storage import Database
from securedesk.vault.signing import SigningKey

Fill = Callable[[AuditLog, int], Awaitable[None]]
START = 1_800_000_000.0  # the FixedClock's start: event n happened at START + n - 1


@pytest.fixture
async def twelve(log: AuditLog, fill: Fill) -> AuditLog:
    # seq: 1 alice view denied, 2 bob reveal, 3 carol view, 4 alice reveal, 5 bob view denied, 6 carol reveal,
    #      7 alice view, 8 bob reveal, 9 carol view denied, 10 alice reveal, 11 bob view, 12 carol reveal
    await fill(log, 12)
    return log


async def seqs(log: AuditLog, filters: AuditFilters, page: Page | None = None) -> tuple[list[int], int]:
    result = await log.search(filters, page, actor="carol", role="compliance", origin_ip="198.51.100.4")
    return [e.seq for e in result.events], result.total


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (AuditFilters(), (list(range(12, 0, -1)), 12)),
        (AuditFilters(actor="alice"), ([10, 7, 4, 1], 4)),
        (AuditFilters(action="secret.reveal"), ([12, 10, 8, 6, 4, 2], 6)),
        (AuditFilters(action="secret.*"), ([12, 10, 8, 6, 4, 2], 6)),
        (AuditFilters(action="secret"), ([], 0)),
        (AuditFilters(action="case.*", actor="bob"), ([11, 5], 2)),
        (AuditFilters(target="case_3"), ([3], 1)),
        (AuditFilters(outcome="denied"), ([9, 5, 1], 3)),
        (AuditFilters(since=START + 3, until=START + 6), ([6, 5, 4], 3)),
        (AuditFilters(since=START + 10), ([12, 11], 2)),
        (AuditFilters(until=START + 1), ([1], 1)),
        (AuditFilters(actor="mallory"), ([], 0)),
    ],
)
async def test_search_filters(twelve: AuditLog, filters: AuditFilters, expected: tuple[list[int], int]) -> None:
    assert await seqs(twelve, filters) == expected


async def test_search_pages_are_stable_while_events_arrive(twelve: AuditLog, fill: Fill) -> None:
    first = await twelve.search(AuditFilters(actor="alice"), Page(1, 3), actor="carol", role="compliance")
    assert ([e.seq for e in first.events], first.total, first.pages, first.has_next, first.as_of) == (
        [10, 7, 4],
        4,
        2,
        True,
        12,
    )
    await fill(twelve, 6)  # more alice events arrive
    second = await twelve.search(AuditFilters(actor="alice"), Page(2, 3, first.as_of), actor="carol", role="compliance")
    assert ([e.seq for e in second.events], second.total, second.has_next) == ([1], 4, False)


async def test_search_is_recorded_before_results(twelve: AuditLog, clock: FixedClock) -> None:
    result = await twelve.search(
        AuditFilters(actor="alice", action="auth.*", since=START),
        Page(2, 10),
        actor="carol",
        role="compliance",
        origin_ip="198.51.100.4",
    )
    recorded = await twelve.store.event(13)
    assert recorded is not None
    assert (recorded.actor, recorded.role, recorded.action, recorded.channel, recorded.origin_ip, recorded.target) == (
        "carol",
        "compliance",
        "audit.search",
        "web",
        "198.51.100.4",
        "actor=alice;action=auth.*;since=2027-01-15T08:00:00.000000Z;page=2;size=10",
    )
    assert result.as_of == 12, "the search's own event is not part of its results"
    assert [
        e.seq for e in (await twelve.search(AuditFilters(action="audit.search"), actor="c", role="compliance")).events
    ] == [13]


async def test_search_terms_are_screened(log: AuditLog) -> None:
    await log.search(AuditFilters(target="4111 1111 1111 1111"), actor="carol", role="compliance")
    recorded = await log.store.event(1)
    assert recorded is not None
    assert recorded.target == "target=#### #### #### ####;page=1;size=50"


@pytest.mark.parametrize("page", [Page(0), Page(1, 0), Page(1, 501)])
async def test_bad_page_is_refused_before_anything_is_recorded(log: AuditLog, page: Page) -> None:
    with pytest.raises(InvalidInput, match="Page numbers start at 1"):
        await log.search(AuditFilters(), page, actor="carol", role="compliance")
    assert await log.store.head() is None


# --- export --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_export_round_trip_verifies_offline(twelve: AuditLog, signing_key: SigningKey, fmt: str) -> None:
    export = await twelve.export(AuditFilters(actor="alice"), fmt, actor="carol", role="compliance")
    recorded = await twelve.store.event(13)
    assert recorded is not None
    assert (recorded.action, recorded.target) == ("audit.export", f"actor=alice;format={fmt}")
    assert (export.matched, export.rows, export.checkpoint.sequence, export.filename) == (
        4,
        10,
        10,
        f"securedesk-audit-00000001-00000010.{fmt}",
    )
    parsed = parse_export(export.content)
    assert parsed.fmt == fmt
    assert parsed.checkpoints == (export.checkpoint,)
    stored = {seq: await twelve.store.event(seq) for seq in range(1, 11)}
    for row in parsed.rows:
        if row.seq in (1, 4, 7, 10):
            assert row.event == stored[row.seq]
        else:
            original = stored[row.seq]
            assert original is not None
            assert (row.event, row.hash, row.content_hash) == (None, original.hash, content_hash(original))
    report = verify_export(export.content, signing_key.verify_key)
    assert (report.ok, report.events_checked, report.elided, report.first_sequence, report.last_sequence) == (
        True,
        10,
        6,
        1,
        10,
    )
    assert report.checkpoint_sequences == (10,)


async def test_unfiltered_export_ends_with_its_own_event(twelve: AuditLog, signing_key: SigningKey) -> None:
    export = await twelve.export(AuditFilters(), "jsonl", actor="carol", role="compliance")
    assert (export.matched, export.rows, export.checkpoint.sequence) == (13, 13, 13)
    last = parse_export(export.content).rows[-1]
    assert last.event is not None
    assert (last.event.action, last.event.actor) == ("audit.export", "carol")
    assert verify_export(export.content, signing_key.verify_key).ok


async def test_export_without_matches_carries_a_checkpoint_only(twelve: AuditLog, signing_key: SigningKey) -> None:
    export = await twelve.export(AuditFilters(actor="nobody"), "csv", actor="carol", role="compliance")
    assert (export.matched, export.rows, export.checkpoint.sequence) == (0, 0, 13)
    report = verify_export(export.content, signing_key.verify_key)
    assert (report.ok, report.events_checked) == (True, 0)


async def test_export_starting_mid_chain_verifies_and_says_what_it_proves(
    twelve: AuditLog, signing_key: SigningKey
) -> None:
    export = await twelve.export(AuditFilters(since=START + 5, until=START + 8), "csv", actor="c", role="compliance")
    report = verify_export(export.content, signing_key.verify_key)
    assert (report.ok, report.first_sequence, report.last_sequence, report.elided) == (True, 6, 8, 0)
    assert report.notes == (
        "The export starts at event 6: it proves events 6..8 belong to the chain the checkpoint signs, not what "
        "came before.",
    )


async def test_csv_cells_cannot_run_as_formulas_and_still_verify(log: AuditLog, signing_key: SigningKey) -> None:
    tricky = [
        '=HYPERLINK("http://x")',
        "+SUM(A)",
        "-A+B",
        "@cmd",
        "'quoted",
        "\tTAB",
        "\rCR",
        'line\r\nbreak, "quotes"',
        "plain",
    ]
    for text in tricky:
        await log.record(actor=text, role="agent", action="case.view", target=text, reason=text)
    export = await log.export(AuditFilters(), "csv", actor="carol", role="compliance")
    text = export.content.decode()
    import csv
    import io

    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    events = [row.event for row in parse_export(export.content).rows if row.event is not None]
    assert [e.actor for e in events[: len(tricky)]] == tricky
    assert [e.reason for e in events[: len(tricky)]] == tricky  # no digits, so the screen left them alone
    assert verify_export(export.content, signing_key.verify_key).ok


async def test_export_is_refused_when_too_large(db: Database, clock: FixedClock, fill: Fill) -> None:
    small = AuditLog(db, clock, str, signing_key=SigningKey.generate(), export_max_events=5)
    await fill(small, 12)
    with pytest.raises(InvalidInput, match="would hold 10 rows, more than 5"):
        await small.export(AuditFilters(actor="alice"), "csv", actor="carol", role="compliance")
    assert (await small.store.head() or (0, ""))[0] == 12, "a refused export is not recorded as an export"


async def test_export_needs_a_signing_key_and_a_known_format(db: Database, clock: FixedClock) -> None:
    with pytest.raises(ConfigError, match="signing key"):
        await AuditLog(db, clock, str).export(AuditFilters(), "csv", actor="carol", role="compliance")
    with pytest.raises(InvalidInput, match="Unknown export format 'xml'"):
        await AuditLog(db, clock, str, signing_key=SigningKey.generate()).export(
            AuditFilters(), "xml", actor="carol", role="compliance"
        )


# --- tampered exports ----------------------------------------------------------------------------------------


def _jsonl(content: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in content.decode().splitlines()]


def _dump(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.fixture
async def exported(twelve: AuditLog) -> list[dict[str, object]]:
    export = await twelve.export(AuditFilters(actor="alice"), "jsonl", actor="carol", role="compliance")
    records = _jsonl(export.content)
    assert [(r["record"], r.get("seq", r.get("sequence"))) for r in records] == [
        ("checkpoint", 10),
        ("event", 1),
        ("elided", 2),
        ("elided", 3),
        ("event", 4),
        ("elided", 5),
        ("elided", 6),
        ("event", 7),
        ("elided", 8),
        ("elided", 9),
        ("event", 10),
    ]
    return records


def _rehash_from(records: list[dict[str, object]], index: int) -> None:
    """Recompute the hashes from records[index] on, as a forger who knows the algorithm would."""
    from securedesk.storage.audit_events import AuditEvent

    prev = str(records[index - 1]["hash"]) if index > 1 else None
    for record in records[index:]:
        if prev is not None:
            record["prev_hash"] = prev
        if record["record"] == "event":
            fields = {k: record[k] for k in CSV_COLUMNS[1:11]} | {"prev_hash": record["prev_hash"], "hash": ""}
            record["hash"] = event_hash(AuditEvent(**fields))  # type: ignore[arg-type]
        else:
            record["hash"] = link_hash(int(str(record["seq"])), str(record["prev_hash"]), str(record["content_hash"]))
        prev = str(record["hash"])


@pytest.mark.parametrize(
    ("tamper", "problem", "seq"),
    [
        (lambda r: r[4].update(actor="mallory"), "hash_mismatch", 4),
        (lambda r: r[4].update(reason="nothing to see"), "hash_mismatch", 4),
        (lambda r: r[2].update(content_hash="0" * 64), "hash_mismatch", 2),
        (lambda r: r.pop(5), "missing", 5),
        (lambda r: r.pop(1), "missing", 1),  # the checkpoint says where the export starts
        (lambda r: r.pop(), "truncated", 10),
        (lambda r: [r.pop(), r.pop()], "truncated", 9),
        (lambda r: r[0].update(sequence=7, head_hash=r[7]["hash"]), "bad_signature", 7),
        (lambda r: r[0].update(time="2030-01-01T00:00:00.000000Z"), "bad_signature", 10),
        (lambda r: (r[4].update(actor="mallory"), _rehash_from(r, 4)), "checkpoint_mismatch", 10),
        (lambda r: r.append({**r[-1], "seq": 11, "prev_hash": r[-1]["hash"]}), "hash_mismatch", 11),
        (lambda r: r.insert(3, dict(r[2])), "duplicate", 2),
    ],
)
async def test_tampered_export_names_the_first_bad_event(
    exported: list[dict[str, object]],
    signing_key: SigningKey,
    tamper: Callable[[list[dict[str, object]]], object],
    problem: str,
    seq: int,
) -> None:
    tamper(exported)
    report = verify_export(_dump(exported), signing_key.verify_key)
    assert (report.ok, report.problem, report.first_bad_sequence) == (False, problem, seq)


async def test_rows_appended_after_the_checkpoint_are_not_covered(
    exported: list[dict[str, object]], signing_key: SigningKey
) -> None:
    extra = {**exported[-1], "seq": 11, "prev_hash": exported[-1]["hash"], "actor": "mallory"}
    exported.append(extra)
    _rehash_from(exported, len(exported) - 1)
    report = verify_export(_dump(exported), signing_key.verify_key)
    assert (report.problem, report.first_bad_sequence) == ("not_covered", 11)


async def test_rows_before_the_signed_range_are_not_covered(twelve: AuditLog, signing_key: SigningKey) -> None:
    export = await twelve.export(AuditFilters(since=START + 5), "jsonl", actor="carol", role="compliance")
    records = _jsonl(export.content)
    authentic_five = await twelve.store.event(5)
    assert authentic_five is not None
    records.insert(1, {"record": "event", **authentic_five.as_dict()})
    report = verify_export(_dump(records), signing_key.verify_key)
    assert (report.problem, report.first_bad_sequence) == ("not_covered", 5)


async def test_csv_export_with_an_edited_cell_is_caught(twelve: AuditLog, signing_key: SigningKey) -> None:
    export = await twelve.export(AuditFilters(actor="alice"), "csv", actor="carol", role="compliance")
    edited = export.content.replace(b",case_7,", b",case_8,")
    assert edited != export.content
    report = verify_export(edited, signing_key.verify_key)
    assert (report.problem, report.first_bad_sequence) == ("hash_mismatch", 7)


async def test_export_checked_with_another_key_is_rejected(twelve: AuditLog) -> None:
    export = await twelve.export(AuditFilters(), "csv", actor="carol", role="compliance")
    report = verify_export(export.content, SigningKey.generate().verify_key)
    assert (report.ok, report.problem) == (False, "bad_signature")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "header"),
        (b"\xff\xfe", "not UTF-8"),
        (b"a,b,c\r\n", "header"),
        (b'{"record": "event", "seq": "one"}\n', "'seq' is not a positive integer"),
        (b'{"record": "bogus", "seq": 1, "prev_hash": "a", "hash": "b"}\n', "unknown record type"),
        (b'{"record": "event", "seq": 1, "prev_hash": "a", "hash": "b"}\n', "field 'time' is missing"),
        (b"{not json\n", "Line 1 of the export is not valid JSON"),
        (b'{"record": "elided", "seq": 1, "prev_hash": "a", "hash": "b", "content_hash": "c"}\n', "exactly one"),
    ],
)
def test_malformed_export_is_a_usage_error(signing_key: SigningKey, content: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        verify_export(content, signing_key.verify_key)
