"""``securedesk scan`` and ``securedesk redact``, run as the real console script of this virtual environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SECUREDESK = str(Path(sys.executable).parent / "securedesk")
FULL_NUMBERS = ("4111111111111111", "4111 1111 1111 1111", "123-45-6789", "GB82WEST", "811218")


def run(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run([SECUREDESK, *args], input=stdin, capture_output=True, timeout=120, cwd=cwd, check=False)
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")
    return result


def test_scan_jsonl_contract_and_bad_lines() -> None:
    lines = [
        json.dumps({"id": "a1", "text": "My card is 4111 1111 1111 1111, SSN 123-45-6789.", "lang": "en"}),
        "[1, 2, 3]",
        json.dumps({"id": 3, "text": "hej", "lang": "de"}),
        json.dumps({"id": 4, "lang": "en"}),
        "",
        json.dumps({"id": 6, "text": "Mitt personnummer är 8112189876", "lang": "sv"}),
        "{not json",
        json.dumps({"id": 8, "text": 42}),
        json.dumps({"id": 9, "text": "nothing here"}),
        json.dumps({"id": 10, "text": "x", "lang": "en-4111-1111-1111-1111"}),
        json.dumps({"id": 11, "text": "carte ４１１１\u200b1111 1111 1111", "lang": "fr"}, ensure_ascii=False),
    ]
    data = "\n".join(lines).encode() + b"\n\xff\xfe{}\n" + json.dumps({"id": None, "text": "SSN 536-22-1234"}).encode()
    result = run("scan", "--jsonl", stdin=data)
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert out == [
        {
            "id": "a1",
            "findings": [
                {"type": "CREDIT_CARD", "start": 11, "end": 30, "score": 1.0},
                {"type": "US_SSN", "start": 36, "end": 47, "score": 1.0},
            ],
        },
        {"id": 6, "findings": [{"type": "SE_PERSONNUMMER", "start": 21, "end": 31, "score": 0.85}]},
        {"id": 9, "findings": []},
        {"id": 11, "findings": [{"type": "CREDIT_CARD", "start": 6, "end": 25, "score": 0.95}]},
        {"id": None, "findings": [{"type": "US_SSN", "start": 4, "end": 15, "score": 1.0}]},
    ]
    errors = result.stderr.decode().splitlines()
    assert errors == [
        'securedesk: line 2: not a JSON object: expected {"id": …, "text": …, "lang": …}, got an array.',
        "securedesk: line 3: Unsupported language 'de'. (use one of en, fr, sv)",
        'securedesk: line 4: missing "text".',
        "securedesk: line 7: not valid JSON (column 2).",
        'securedesk: line 8: "text" must be a string, not a number.',
        "securedesk: line 10: Unsupported language. (use one of en, fr, sv)",
        "securedesk: line 12: not valid UTF-8 (byte 1 of the line).",
    ]
    assert result.returncode == 2


def test_scan_files_table_and_exit_codes(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.txt"
    leaky.write_text("hello\nMy card is 4111 1111 1111 1111\n\nSSN 123-45-6789 and IBAN GB82WEST12345698765432\n")
    clean = tmp_path / "clean.txt"
    clean.write_text("Order 12345 shipped 2024-05-01, call +33 6 12 34 56 78.\n")
    found = run("scan", str(leaky), str(clean), cwd=tmp_path)
    assert found.returncode == 1
    table = found.stdout.decode()
    assert table.splitlines()[0].split() == ["FILE", "LINE", "TYPE", "VALUE", "SCORE"]
    rows = [line.split() for line in table.splitlines()[1:-1]]
    assert [(row[0], row[1], row[2], " ".join(row[3:-1]), row[-1]) for row in rows] == [
        (str(leaky), "2", "CREDIT_CARD", "[CARD •••• 1111]", "1.00"),
        (str(leaky), "4", "US_SSN", "[SSN •••• 6789]", "1.00"),
        (str(leaky), "4", "IBAN_CODE", "[IBAN •••• 5432]", "1.00"),
    ]
    assert table.splitlines()[-1] == "3 findings in 2 files."
    assert not any(number in table for number in FULL_NUMBERS)

    ok = run("scan", str(clean))
    assert (ok.returncode, ok.stdout.decode()) == (0, "No findings in 1 file.\n")

    missing = run("scan", str(clean), str(tmp_path / "missing.txt"))
    assert missing.returncode == 2
    assert f"securedesk: {tmp_path / 'missing.txt'}: cannot be read" in missing.stderr.decode()


def test_scan_reports_undecodable_lines_and_still_scans_the_rest(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes(b"ok line\nbad \xff\xfe 4111 1111 1111 1111\ncard 5555 5555 5555 4444\n")
    result = run("scan", "--lang", "en", str(mixed))
    assert result.returncode == 1
    assert result.stderr.decode() == f"securedesk: {mixed}:2: not valid UTF-8 (byte 5 of the line); line removed.\n"
    [row] = [line.split() for line in result.stdout.decode().splitlines()[1:-1]]
    assert row[1:3] == ["3", "CREDIT_CARD"]


def test_redact_file_and_stdin(tmp_path: Path) -> None:
    sample = tmp_path / "chat.txt"
    sample.write_text("Card 4111 1111 1111 1111, exp 12/29, cvv 737.\nMitt personnummer är 811218-9876.\n")
    from_file = run("redact", "--lang", "sv", str(sample))
    assert from_file.returncode == 0
    assert from_file.stdout.decode() == (
        "Card [CARD •••• 1111], [EXPIRY removed], [CVV removed].\nMitt personnummer är [PERSONNUMMER •••• 9876].\n"
    )
    from_stdin = run("redact", stdin=b"bad \xff line 4111 1111 1111 1111\nSSN 123-45-6789\n")
    assert from_stdin.returncode == 2
    assert from_stdin.stdout.decode() == "[line removed: not valid UTF-8]\nSSN [SSN •••• 6789]\n"
    assert from_stdin.stderr.decode() == "securedesk: stdin:1: not valid UTF-8 (byte 5 of the line); line removed.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["redact", "--lang", "de"], "securedesk: error: Unsupported language 'de'. (use one of en, fr, sv)\n"),
        (["scan"], "securedesk: error: Nothing to scan. (name one or more files, '-' for stdin, or use --jsonl)\n"),
        (
            ["scan", "--jsonl", "--entities", "CARD"],
            "securedesk: error: Unknown entity types: CARD. "
            "(use any of CREDIT_CARD, IBAN_CODE, FR_NIR, SE_PERSONNUMMER, US_SSN)\n",
        ),
    ],
)
def test_bad_options(args: list[str], message: str) -> None:
    result = run(*args)
    assert (result.returncode, result.stderr.decode()) == (2, message)


def test_sample_chat_redacts_every_number() -> None:
    """``make run`` redacts docs/sample-chat.txt: every number is masked, phone and order numbers stay."""
    sample = Path(__file__).resolve().parents[3] / "docs" / "sample-chat.txt"
    result = run("redact", str(sample))
    assert result.returncode == 0
    assert result.stdout.decode().splitlines() == [
        "Hi, I was charged twice. My card is [CARD •••• 1111], [EXPIRY removed], [CVV removed].",
        "Bonjour, mon numéro de sécurité sociale est [FR_NIR •••• 4528], pouvez-vous vérifier ?",
        "Hej! Mitt personnummer är [PERSONNUMMER •••• 9876] och kortnummer [CARD •••• 4444].",
        "Please refund to IBAN [IBAN •••• 5432]. My SSN is [SSN •••• 1234].",
        "Order 123456789012 shipped on 2024-05-01 at 1714557600000; call me on +33 6 12 34 56 78.",
        "Pasted from my banking app: [CARD •••• 0005] ([EXPIRY removed]), and again [CARD •••• 0005].",
        "Carte bancaire [CARD •••• 0063], [CVV removed]. Ma fille est née à Ajaccio : [FR_NIR •••• 0443].",
        "Mitt samordningsnummer är [PERSONNUMMER •••• 9873], ring mig på 070-123 45 67. Faktura 2024-000123456, tack!",
    ]
