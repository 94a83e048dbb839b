"""Export files (CSV, JSON Lines) of a filtered range of the chain with its signed checkpoint, and their offline check.

Each file holds one ``checkpoint`` record first, then one record per event from the first to the last matching event:
``event`` rows carry every field; events the filter left out appear as ``elided`` rows (seq, content hash, previous
hash, hash, no content), so the chain can be recomputed through them up to the checkpoint's head hash.

CSV: RFC 4180 with the header ``CSV_COLUMNS``. Empty cells of ``origin_ip``/``reason`` mean null. A cell whose text
starts with ``= + - @ ' TAB CR`` is written with a leading ``'`` (so spreadsheets do not run it as a formula),
and exactly one leading ``'`` is removed on reading: the encoding is reversible, so hashes still verify.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from securedesk.audit.chain import GENESIS_HASH, ChainWalk, VerifyReport, content_hash
from securedesk.audit.checkpoint import checkpoint_from_dict, checkpoint_is_valid, checkpoint_to_dict
from securedesk.errors import InvalidInput
from securedesk.storage.audit_events import AuditEvent, Checkpoint
from securedesk.vault.signing import VerifyKey

EXPORT_FORMATS: Final = ("csv", "jsonl")
MEDIA_TYPES: Final = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}
EVENT_FIELDS: Final = (
    "seq",
    "time",
    "actor",
    "role",
    "origin_ip",
    "channel",
    "action",
    "target",
    "outcome",
    "reason",
    "prev_hash",
    "hash",
)
CSV_COLUMNS: Final = (
    "record",
    "seq",
    "time",
    "actor",
    "role",
    "origin_ip",
    "channel",
    "action",
    "target",
    "outcome",
    "reason",
    "content_hash",
    "prev_hash",
    "hash",
    "key_id",
    "signature",
    "first_seq",
)
_NULLABLE: Final = frozenset({"origin_ip", "reason"})
_FORMULA_START: Final = ("=", "+", "-", "@", "'", "\t", "\r")


def _csv_cell(value: str | int | None) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_value(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


class ExportWriter:
    """Builds one export file: the checkpoint first, then event and elided rows in sequence order."""

    def __init__(self, fmt: str, checkpoint: Checkpoint) -> None:
        if fmt not in EXPORT_FORMATS:
            raise InvalidInput(f"Unknown export format {fmt!r}: use csv or jsonl.")
        self.fmt = fmt
        self._buffer = io.StringIO(newline="")
        self._csv = csv.writer(self._buffer, lineterminator="\r\n") if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writerow(CSV_COLUMNS)
        self._write({"record": "checkpoint", **checkpoint_to_dict(checkpoint)})

    def _write(self, record: dict[str, Any]) -> None:
        if self._csv is None:
            self._buffer.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            return
        cells = dict(record)
        if record["record"] == "checkpoint":
            cells = {
                "record": "checkpoint",
                "seq": record["sequence"],
                "time": record["time"],
                "hash": record["head_hash"],
                "key_id": record["key_id"],
                "signature": record["signature"],
                "first_seq": record["first_sequence"],
            }
        self._csv.writerow([_csv_cell(cells.get(column)) for column in CSV_COLUMNS])

    def add(self, event: AuditEvent, *, matches: bool) -> None:
        digest = content_hash(event)
        if matches:
            self._write({"record": "event", **event.as_dict(), "content_hash": digest})
        else:
            self._write(
                {
                    "record": "elided",
                    "seq": event.seq,
                    "content_hash": digest,
                    "prev_hash": event.prev_hash,
                    "hash": event.hash,
                }
            )

    def add_batch(self, rows: Iterable[tuple[AuditEvent, bool]]) -> None:
        for event, matches in rows:
            self.add(event, matches=matches)

    def getvalue(self) -> bytes:
        return self._buffer.getvalue().encode("utf-8", "surrogatepass")


# --- reading and offline verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    seq: int
    prev_hash: str
    hash: str
    content_hash: str  # computed for event rows, as written for elided rows
    event: AuditEvent | None  # None for an elided row


@dataclass(frozen=True)
class ParsedExport:
    fmt: str
    checkpoints: tuple[Checkpoint, ...]
    rows: tuple[ExportRow, ...]


def _require_str(record: dict[str, Any], name: str, where: str, *, nullable: bool = False) -> str | None:
    value = record.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: field {name!r} is missing or not text.")
    return value


def _row_from_record(record: dict[str, Any], where: str) -> ExportRow | Checkpoint:
    kind = record.get("record")
    if kind == "checkpoint":
        return checkpoint_from_dict(record, source=f"checkpoint at {where}")
    seq = record.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise InvalidInput(f"{where}: 'seq' is not a positive integer.")
    prev_hash = _require_str(record, "prev_hash", where)
    stored_hash = _require_str(record, "hash", where)
    if prev_hash is None or stored_hash is None:  # pragma: no cover - _require_str raises first
        raise InvalidInput(f"{where}: hashes are missing.")
    if kind == "elided":
        digest = _require_str(record, "content_hash", where)
        if digest is None:  # pragma: no cover
            raise InvalidInput(f"{where}: content_hash is missing.")
        return ExportRow(seq, prev_hash, stored_hash, digest, None)
    if kind != "event":
        raise InvalidInput(f"{where}: unknown record type (expected checkpoint, event or elided).")
    values: dict[str, Any] = {"seq": seq, "prev_hash": prev_hash, "hash": stored_hash}
    for name in EVENT_FIELDS[1:-2]:
        values[name] = _require_str(record, name, where, nullable=name in _NULLABLE)
    event = AuditEvent(**values)
    return ExportRow(seq, prev_hash, stored_hash, content_hash(event), event)


def _records_jsonl(text: str) -> Iterable[tuple[dict[str, Any], str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"Line {number} of the export is not valid JSON.") from exc
        if not isinstance(record, dict):
            raise InvalidInput(f"Line {number} of the export is not a JSON object.")
        yield record, f"line {number}"


def _records_csv(text: str) -> Iterable[tuple[dict[str, Any], str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(header) != CSV_COLUMNS:
        raise InvalidInput("The export's CSV header is not SecureDesk's audit export header.")
    for cells in reader:
        where = f"CSV record {reader.line_num}"
        if not cells:
            continue
        if len(cells) != len(CSV_COLUMNS):
            raise InvalidInput(f"{where} has {len(cells)} cells, expected {len(CSV_COLUMNS)}.")
        raw = dict(zip(CSV_COLUMNS, cells, strict=True))
        record: dict[str, Any] = {}
        for name, cell in raw.items():
            if name in ("seq", "first_seq") and cell:
                try:
                    record[name] = int(cell)
                except ValueError as exc:
                    raise InvalidInput(f"{where}: {name!r} is not an integer.") from exc
            elif name in _NULLABLE and cell == "":
                record[name] = None
            else:
                record[name] = _csv_value(cell)
        if record["record"] == "checkpoint":
            record = {
                "record": "checkpoint",
                "sequence": record["seq"],
                "head_hash": record["hash"],
                "time": record["time"],
                "key_id": record["key_id"],
                "signature": record["signature"],
                "first_sequence": record["first_seq"],
            }
        yield record, where


def parse_export(data: bytes) -> ParsedExport:
    """Read an export file (format detected from its first character). Malformed files raise ``InvalidInput``."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The export is not UTF-8 text.") from exc
    fmt = "jsonl" if text.lstrip().startswith("{") else "csv"
    source = _records_jsonl(text) if fmt == "jsonl" else _records_csv(text)
    checkpoints: list[Checkpoint] = []
    rows: list[ExportRow] = []
    for record, where in source:
        item = _row_from_record(record, where)
        if isinstance(item, Checkpoint):
            checkpoints.append(item)
        else:
            rows.append(item)
    return ParsedExport(fmt, tuple(checkpoints), tuple(rows))


def verify_export(data: bytes, key: VerifyKey, *, extra_checkpoints: Sequence[Checkpoint] = ()) -> VerifyReport:
    """Check an export offline: its checkpoint's signature, every row's hash and link, and that the rows run
    exactly over the signed range (``first_sequence``..``sequence``, ending at the signed head hash).
    ``extra_checkpoints`` (e.g. from ``--checkpoint``) are compared too when they fall inside that range."""
    parsed = parse_export(data)
    if len(parsed.checkpoints) != 1:
        raise InvalidInput(f"An export carries exactly one checkpoint; this file has {len(parsed.checkpoints)}.")
    checkpoint = parsed.checkpoints[0]
    rows = sorted(parsed.rows, key=lambda row: row.seq)
    first = checkpoint.first_sequence
    anchors: dict[int, list[str]] = {checkpoint.sequence: [checkpoint.head_hash]}
    notes: list[str] = []
    for extra in extra_checkpoints:
        if first <= extra.sequence <= checkpoint.sequence:
            anchors.setdefault(extra.sequence, []).append(extra.head_hash)
        else:
            notes.append(f"The checkpoint at {extra.sequence} lies outside the exported range and was not compared.")
    walk = ChainWalk(start_seq=first, start_prev_hash=GENESIS_HASH if first == 1 else None, anchors=anchors)
    if not checkpoint_is_valid(checkpoint, key):
        walk.fail_bad_signature(checkpoint.sequence, "the export's checkpoint")
    for extra in extra_checkpoints:
        if not checkpoint_is_valid(extra, key):
            walk.fail_bad_signature(extra.sequence, "the given checkpoint")
    if rows and rows[0].seq < first:
        walk.fail_not_covered(
            rows[0].seq,
            f"event {rows[0].seq} precedes the first event the checkpoint vouches "
            f"for ({first}): rows were added to the export.",
        )
    for row in rows:
        if not walk.feed(row.seq, row.prev_hash, row.hash, row.content_hash, elided=row.event is None):
            break
    if not walk.failed:
        if walk.last_sequence < checkpoint.sequence:
            walk.fail_truncated(checkpoint.sequence)
        elif walk.last_sequence > checkpoint.sequence:
            walk.fail_not_covered(
                checkpoint.sequence + 1,
                f"the export continues after its checkpoint at event {checkpoint.sequence}: rows were added.",
            )
    if first > 1:
        notes.append(
            f"The export starts at event {first}: it proves events {first}..{walk.last_sequence} belong to the chain "
            "the checkpoint signs, not what came before."
        )
    return walk.report(notes)
