"""``securedesk audit ...`` through the real entry point, on a database and key directory in tmp_path."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from securedesk.audit import AuditLog
from securedesk.cli import main
from securedesk.cli.audit_commands import cli_actor
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.storage import Database
from securedesk.vault.signing import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SECUREDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SECUREDESK_KEY_DIR", str(settings.key_dir))
    return settings


def seed(settings: Settings, count: int) -> None:
    async def run() -> None:
        db = await Database.open(settings.database_path)
        try:
            log = AuditLog.from_settings(settings, db, FixedClock(), str)
            for i in range(count):
                await log.record(actor=("alice", "bob")[i % 2], role="agent", action="case.view", target=f"case_{i}")
        finally:
            await db.close()

    asyncio.run(run())


def tamper(settings: Settings, *statements: str) -> None:
    with sqlite3.connect(settings.database_path, isolation_level=None) as raw:
        raw.execute("DROP TRIGGER audit_events_no_update")
        raw.execute("DROP TRIGGER audit_events_no_delete")
        for statement in statements:
            raw.execute(statement)


def test_checkpoint_prints_signed_json_and_keeps_the_key_private(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(env, 3)
    out = tmp_path / "cp.json"
    assert main(["audit", "checkpoint", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == printed
    assert (printed["sequence"], printed["first_sequence"], printed["algorithm"]) == (3, 1, "ed25519")
    assert set(printed) == {"sequence", "head_hash", "time", "key_id", "first_sequence", "algorithm", "signature"}
    assert stat.S_IMODE(os.stat(env.key_dir / PRIVATE_KEY_FILE).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(env.key_dir / PUBLIC_KEY_FILE).st_mode) == 0o644


def test_verify_exit_codes(env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(env, 10)
    out = tmp_path / "cp.json"
    assert main(["audit", "checkpoint", "--out", str(out)]) == 0
    assert main(["audit", "verify", "--checkpoint", str(out)]) == 0
    assert "OK: 10 events (1..10) verified; matches signed checkpoint(s) at 10." in capsys.readouterr().out
    tamper(env, "UPDATE audit_events SET target = 'case_x' WHERE seq = 6")
    assert main(["audit", "verify"]) == 1
    output = capsys.readouterr().out
    assert output.startswith("TAMPERED: event 6: event 6 does not match its stored hash")
    assert "  first bad event: 6\n  problem:         hash_mismatch\n" in output


def test_verify_names_a_truncated_tail_only_with_a_checkpoint(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(env, 10)
    out = tmp_path / "cp.json"
    assert main(["audit", "checkpoint", "--out", str(out)]) == 0
    # The attacker also removes the stored copy of the checkpoint; the one kept elsewhere still catches it.
    tamper(
        env,
        "DELETE FROM audit_events WHERE seq > 7",
        "DROP TRIGGER audit_checkpoints_no_delete",
        "DELETE FROM audit_checkpoints",
    )
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    assert "can be detected only against a signed checkpoint" in capsys.readouterr().out
    assert main(["audit", "verify", "--checkpoint", str(out), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["first_bad_sequence"], report["problem"]) == (8, "truncated")


def test_forged_checkpoint_file_is_rejected(env: Settings, tmp_path: Path) -> None:
    seed(env, 4)
    out = tmp_path / "cp.json"
    assert main(["audit", "checkpoint", "--out", str(out)]) == 0
    forged = json.loads(out.read_text())
    forged["sequence"] = 2
    out.write_text(json.dumps(forged))
    assert main(["audit", "verify", "--checkpoint", str(out)]) == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_verify_offline(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    seed(env, 6)
    exported = tmp_path / f"export.{fmt}"
    assert main(["audit", "export", "--actor", "alice", "--format", fmt, "--out", str(exported)]) == 0
    assert stat.S_IMODE(os.stat(exported).st_mode) == 0o600
    assert "exported 3 events (5 rows) with a checkpoint at event 5" in capsys.readouterr().err
    # Offline: another machine holding only the export and the public key.
    public = tmp_path / "audit.pub"
    assert main(["audit", "public-key", "--out", str(public)]) == 0
    env.database_path.unlink()
    for name in (PRIVATE_KEY_FILE, PUBLIC_KEY_FILE):
        (env.key_dir / name).unlink()
    capsys.readouterr()
    assert main(["audit", "verify", "--export", str(exported), "--public-key", str(public)]) == 0
    assert capsys.readouterr().out.startswith("OK: 5 events (1..5) verified; matches signed checkpoint(s) at 5.")
    exported.write_bytes(exported.read_bytes().replace(b"case_4", b"case_9"))
    assert main(["audit", "verify", "--export", str(exported), "--public-key", str(public)]) == 1
    assert capsys.readouterr().out.startswith("TAMPERED: event 5:")


def test_search_prints_events_and_is_audited(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    seed(env, 5)
    assert main(["audit", "search", "--actor", "bob", "--json"]) == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert [(e["seq"], e["actor"], e["target"]) for e in events] == [(4, "bob", "case_3"), (2, "bob", "case_1")]
    assert "page 1 of 1, 2 events (as of event 5" in captured.err
    assert main(["audit", "search", "--action", "audit.*", "--json"]) == 0
    recorded = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["seq"], e["actor"], e["role"], e["channel"], e["action"], e["target"]) for e in recorded] == [
        (6, cli_actor(), "operator", "cli", "audit.search", "actor=bob;page=1;size=50"),
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "verify"],  # no database yet
        ["audit", "verify", "--export", "/nonexistent/missing.jsonl"],
        ["audit", "search"],
    ],
)
def test_errors_exit_2(env: Settings, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("securedesk: error: ")


def test_usage_error_exits_2(env: Settings) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", "search", "--since", "yesterday"])
    assert exited.value.code == 2


def test_malformed_export_exits_2(env: Settings, tmp_path: Path) -> None:
    seed(env, 1)
    bogus = tmp_path / "bogus.csv"
    bogus.write_text("not,an,export\n")
    assert main(["audit", "verify", "--export", str(bogus)]) == 2


def test_cli_search_terms_are_screened_by_the_detector(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    seed(env, 1)
    assert main(["audit", "search", "--target", "4111 1111 1111 1111"]) == 0
    assert main(["audit", "search", "--action", "audit.search", "--json"]) == 0
    recorded = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert recorded[-1]["target"] == "target=[CARD •••• 1111];page=1;size=50"
    with sqlite3.connect(env.database_path) as raw:
        assert "4111 1111 1111 1111" not in "\n".join(raw.iterdump())
