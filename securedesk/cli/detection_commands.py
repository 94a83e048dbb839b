"""``securedesk scan`` (JSON Lines for evaluations, or a table of findings for CI) and ``securedesk redact``.

Nothing here ever prints a full number: tables show masks, JSON shows offsets and scores. Bad input is reported on
stderr with its file and line, and every other line is still processed. Exit codes: ``scan FILE…`` 1 when anything
is found, else 2 when some input could not be read, else 0; ``scan --jsonl`` and ``redact`` 2 when some input
was bad, else 0.
"""

from __future__ import annotations

import argparse
import bisect
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from securedesk.config import Settings
from securedesk.errors import InvalidInput

if TYPE_CHECKING:
    # Imported when a command runs, not when the parser is built: presidio takes over a second to import, and
    # every other ``securedesk`` command would pay for it.
    from securedesk.detection import Detector, Finding

EXIT_CLEAN = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2
UNREADABLE_LINE = "[line removed: not valid UTF-8]"


def register(subparsers: Any) -> None:
    scan = subparsers.add_parser(
        "scan",
        help="find card numbers, SSNs, NIRs, personnummer and IBANs",
        description="Report findings as a table (exit 1 when anything is found) or, with --jsonl, as JSON Lines.",
    )
    scan.add_argument("files", nargs="*", type=Path, metavar="FILE", help="files to scan ('-' for stdin)")
    scan.add_argument(
        "--jsonl",
        action="store_true",
        help='read {"id", "text", "lang"} objects, one per line, from stdin (or FILEs); write '
        '{"id", "findings": [{"type", "start", "end", "score"}]} per line',
    )
    _add_common_options(scan)
    scan.set_defaults(handler=run_scan)

    redact = subparsers.add_parser("redact", help="print a text with every finding masked")
    redact.add_argument("file", nargs="?", type=Path, metavar="FILE", help="file to redact (default: stdin)")
    _add_common_options(redact)
    redact.set_defaults(handler=run_redact)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", default="en", help="language of the text: en, fr or sv (default: en)")
    parser.add_argument(
        "--entities",
        default=None,
        help="comma-separated entity types to look for: CREDIT_CARD, US_SSN, FR_NIR, SE_PERSONNUMMER, IBAN_CODE "
        "(default: all)",
    )


@dataclass
class _Reporter:
    """Counts problems and writes each as one line on stderr."""

    stream: TextIO
    problems: int = 0

    def error(self, where: str, message: str) -> None:
        self.problems += 1
        print(f"securedesk: {where}: {message}", file=self.stream)


def _entities(args: argparse.Namespace) -> list[str] | None:
    if args.entities is None:
        return None
    return [name.strip().upper() for name in str(args.entities).split(",") if name.strip()]


def _prepare(args: argparse.Namespace, settings: Settings) -> tuple[Detector, str, list[str] | None]:
    """Build the detector and check the command-line options before reading any input."""
    from securedesk.detection import Detector

    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8")  # masks contain "•", whatever the locale
    detector = Detector.from_settings(settings)
    lang = detector.resolve_language(args.lang)
    entities = _entities(args)
    detector.analyze("", lang, entities)  # raises InvalidInput for unknown entity types
    return detector, lang, entities


# --- scan --jsonl ------------------------------------------------------------------------------------------------


def run_scan(args: argparse.Namespace, settings: Settings) -> int:
    detector, lang, entities = _prepare(args, settings)
    reporter = _Reporter(sys.stderr)
    if args.jsonl:
        sources = [(str(path), path) for path in args.files] or [("stdin", Path("-"))]
        for name, path in sources:
            with _open_binary(path, name, reporter) as stream:
                if stream is not None:
                    _scan_jsonl(stream, name, detector, lang, entities, reporter, sys.stdout)
        return EXIT_BAD_INPUT if reporter.problems else EXIT_CLEAN
    if not args.files:
        raise InvalidInput("Nothing to scan.", hint="name one or more files, '-' for stdin, or use --jsonl")
    return _scan_files(args.files, detector, lang, entities, reporter)


def _scan_jsonl(
    stream: BinaryIO,
    name: str,
    detector: Detector,
    default_lang: str,
    entities: list[str] | None,
    reporter: _Reporter,
    out: TextIO,
) -> None:
    for number, raw in enumerate(stream, start=1):
        where = f"{name}:{number}" if name != "stdin" else f"line {number}"
        if not raw.strip():
            continue
        try:
            record = _parse_record(raw)
            lang = record.get("lang", default_lang)
            if not isinstance(lang, str):
                raise InvalidInput('"lang" must be a string such as "en", "fr" or "sv".')
            findings = detector.analyze(record["text"], lang, entities)
        except InvalidInput as exc:
            reporter.error(where, str(exc))
            continue
        line = {
            "id": record.get("id"),
            "findings": [{"type": f.entity_type, "start": f.start, "end": f.end, "score": f.score} for f in findings],
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()


def _parse_record(raw: bytes) -> dict[str, Any]:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"not valid UTF-8 (byte {exc.start + 1} of the line).") from None
    try:
        record = json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        where = f" (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InvalidInput(f"not valid JSON{where}.") from None
    if not isinstance(record, dict):
        raise InvalidInput(f'not a JSON object: expected {{"id": …, "text": …, "lang": …}}, got {_json_kind(record)}.')
    if "text" not in record:
        raise InvalidInput('missing "text".')
    if not isinstance(record["text"], str):
        raise InvalidInput(f'"text" must be a string, not {_json_kind(record["text"])}.')
    return record


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_kind(value: object) -> str:
    kinds = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return "null" if value is None else kinds.get(type(value), "a value")


# --- scan FILE… ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    file: str
    line: int
    finding: Finding


def _scan_files(
    paths: list[Path], detector: Detector, lang: str, entities: list[str] | None, reporter: _Reporter
) -> int:
    rows: list[_Row] = []
    for path in paths:
        name = "stdin" if str(path) == "-" else str(path)
        with _open_binary(path, name, reporter) as stream:
            if stream is None:
                continue
            text = _decode_lines(stream.read(), name, reporter)
        try:
            findings = detector.analyze(text, lang, entities)
        except InvalidInput as exc:
            reporter.error(name, str(exc))
            continue
        line_starts = [0] + [index + 1 for index, char in enumerate(text) if char == "\n"]
        rows.extend(_Row(name, bisect.bisect_right(line_starts, f.start), f) for f in findings)
    _print_table(rows, len(paths), sys.stdout)
    if rows:
        return EXIT_FOUND
    return EXIT_BAD_INPUT if reporter.problems else EXIT_CLEAN


def _print_table(rows: list[_Row], file_count: int, out: TextIO) -> None:
    from securedesk.redaction import mask_for

    files = "file" if file_count == 1 else "files"
    if not rows:
        out.write(f"No findings in {file_count} {files}.\n")
        return
    table = [("FILE", "LINE", "TYPE", "VALUE", "SCORE")]
    for row in rows:
        masked = mask_for(row.finding.entity_type, row.finding.digits.reveal())
        table.append((row.file, str(row.line), row.finding.entity_type, masked, f"{row.finding.score:.2f}"))
    widths = [max(len(cells[column]) for cells in table) for column in range(5)]
    for cells in table:
        out.write(
            f"{cells[0]:<{widths[0]}}  {cells[1]:>{widths[1]}}  {cells[2]:<{widths[2]}}  "
            f"{cells[3]:<{widths[3]}}  {cells[4]:>{widths[4]}}\n"
        )
    findings = "finding" if len(rows) == 1 else "findings"
    out.write(f"{len(rows)} {findings} in {file_count} {files}.\n")


# --- redact ----------------------------------------------------------------------------------------------------


def run_redact(args: argparse.Namespace, settings: Settings) -> int:
    from securedesk.redaction import redact_text

    detector, lang, entities = _prepare(args, settings)
    reporter = _Reporter(sys.stderr)
    path = args.file if args.file is not None else Path("-")
    name = "stdin" if str(path) == "-" else str(path)
    with _open_binary(path, name, reporter) as stream:
        if stream is None:
            return EXIT_BAD_INPUT
        text = _decode_lines(stream.read(), name, reporter)
    redaction = redact_text(text, detector.analyze(text, lang, entities))
    sys.stdout.write(redaction.text)
    sys.stdout.flush()
    return EXIT_BAD_INPUT if reporter.problems else EXIT_CLEAN


# --- input -----------------------------------------------------------------------------------------------------


class _OpenBinary:
    """``with _open_binary(path, …) as stream``: a binary stream, or None after reporting why it cannot be read."""

    def __init__(self, path: Path, name: str, reporter: _Reporter) -> None:
        self._path, self._name, self._reporter = path, name, reporter
        self._stream: BinaryIO | None = None

    def __enter__(self) -> BinaryIO | None:
        if str(self._path) == "-":
            return sys.stdin.buffer
        try:
            self._stream = self._path.open("rb")
        except OSError as exc:
            self._reporter.error(self._name, f"cannot be read: {exc.strerror or exc}.")
            return None
        return self._stream

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.close()


def _open_binary(path: Path, name: str, reporter: _Reporter) -> _OpenBinary:
    return _OpenBinary(path, name, reporter)


def _decode_lines(data: bytes, name: str, reporter: _Reporter) -> str:
    """Decode UTF-8 line by line; a line that is not valid UTF-8 is reported and replaced by a notice, never
    passed on half-decoded (stray bytes could hide a number from detection while its digits stay readable)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return "".join(_decoded(data, name, reporter))


def _decoded(data: bytes, name: str, reporter: _Reporter) -> Iterator[str]:
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        newline = "\n" if number < len(lines) else ""
        try:
            yield raw.decode("utf-8") + newline
        except UnicodeDecodeError as exc:
            reporter.error(f"{name}:{number}", f"not valid UTF-8 (byte {exc.start + 1} of the line); line removed.")
            yield UNREADABLE_LINE + newline
