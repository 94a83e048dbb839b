"""``securedesk init``, ``keys rotate|status|retire`` and ``vault purge`` through the real command-line entry point."""

from __future__ import annotations

import asyncio
import sqlite3
import stat

import pytest

from securedesk.cli import main
from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.sensitive import Sensitive
from securedesk.storage.database import MIGRATIONS, Database
from securedesk.vault import SealRequest, Vault


@pytest.fixture
def cli_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("SECUREDESK_KEK", "SECUREDESK_CONFIG", "SECUREDESK_DB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECUREDESK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SECUREDESK_KEY_DIR", str(settings.key_dir))
    monkeypatch.setenv("SECUREDESK_CERT_DIR", str(settings.cert_dir))
    return settings


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _audit_actions(settings: Settings) -> list[tuple[str, str, str]]:
    with sqlite3.connect(settings.database_path) as conn:
        return [tuple(r) for r in conn.execute("SELECT action, target, outcome FROM audit_events ORDER BY seq")]


def _init_steps(out: str) -> list[str]:
    """The step lines of init's output (later steps added by other concerns are not this test's business)."""
    names = ("data directory:", "database:", "key-encrypting key:", "vault:")
    return [line for line in out.splitlines() if line.startswith(names)]


def test_init_is_idempotent_and_says_what_it_did(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    s = cli_settings
    code, out, err = _run(capsys, "init")
    assert (code, err) == (0, "")
    assert _init_steps(out) == [
        f"data directory: created {s.data_dir} (mode 0700)",
        f"database: created {s.database_path} at schema version {len(MIGRATIONS)}",
        f"key-encrypting key: created {s.key_dir / 'kek-v1.key'} (mode 0600, directory 0700)",
        "vault: ready: new data keys are wrapped by KEK version 1; 0 secret(s)",
    ]
    assert stat.S_IMODE((s.key_dir / "kek-v1.key").stat().st_mode) == 0o600
    key = (s.key_dir / "kek-v1.key").read_bytes()
    code, out, _ = _run(capsys, "init")
    assert code == 0
    assert _init_steps(out) == [
        f"data directory: {s.data_dir} exists",
        f"database: {s.database_path} is up to date (schema version {len(MIGRATIONS)} of {len(MIGRATIONS)})",
        f"key-encrypting key: present in {s.key_dir} (versions 1)",
        "vault: ready: new data keys are wrapped by KEK version 1; 0 secret(s)",
    ]
    assert (s.key_dir / "kek-v1.key").read_bytes() == key


def test_init_will_not_replace_a_lost_key(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "init")[0] == 0
    (cli_settings.key_dir / "kek-v1.key").unlink()
    code, _out, err = _run(capsys, "init")
    assert code == 2
    assert "already holds data under KEK version(s) 1" in err
    assert "restore the key directory from backup" in err
    assert list(cli_settings.key_dir.iterdir()) == []


def test_commands_refuse_without_database_or_key(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "keys", "status")
    assert code == 2
    assert err == f"securedesk: error: No database at {cli_settings.database_path}. (run `securedesk init` first)\n"
    assert _run(capsys, "init")[0] == 0
    (cli_settings.key_dir / "kek-v1.key").chmod(0o640)
    code, _, err = _run(capsys, "vault", "purge")
    assert code == 2
    assert "kek-v1.key is accessible to other users (mode 0640)" in err


def test_rotate_status_retire(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "init")[0] == 0
    code, out, err = _run(capsys, "keys", "retire", "1")
    assert code == 2
    assert "KEK version 1 is the current version" in err

    code, out, _ = _run(capsys, "keys", "rotate", "--resume")
    assert (code, out) == (0, "Nothing to resume: every data key is wrapped by KEK version 1.\n")
    code, out, _ = _run(capsys, "keys", "rotate")
    assert code == 0
    assert out.splitlines()[0] == f"Adding a KEK version after 1 in key directory {cli_settings.key_dir}."
    assert "Rotation to KEK version 2 complete: 1 data key(s) re-wrapped" in out
    assert "retire them with `securedesk keys retire VERSION`" in out

    code, out, _ = _run(capsys, "keys", "status")
    assert code == 0
    table = [line.split() for line in out.splitlines()[2:]]
    assert [row[:2] + row[3:] for row in table] == [
        ["1", "active", "0", "0", "-", "0"],
        ["2", "current", "0", "0", "yes", "1"],
    ]
    code, out, _ = _run(capsys, "keys", "retire", "1")
    assert (code, out) == (0, f"KEK version 1 is retired; deleted {cli_settings.key_dir / 'kek-v1.key'}.\n")
    assert _audit_actions(cli_settings)[-3:] == [
        ("keys.retire", "kek:v1", "denied"),
        ("keys.rotate", "kek:v2;rewrapped=1", "success"),
        ("keys.retire", "kek:v1", "success"),
    ]


def test_purge_deletes_expired_secrets(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "init")[0] == 0

    async def seal() -> None:
        db = await Database.open(cli_settings.database_path)
        try:
            vault = await Vault.load(cli_settings, db, FixedClock(1_000_000_000.0))  # long ago: already expired
            await vault.seal_many(
                [SealRequest("CREDIT_CARD", Sensitive("4111111111111111"), "chat", retention_days=30)] * 3
            )
            await vault.seal("US_SSN", Sensitive("078-05-1120"), case_id=None, source="form", retention_days=None)
        finally:
            await db.close()

    asyncio.run(seal())
    code, out, _ = _run(capsys, "vault", "purge")
    assert (code, out) == (0, "Purged 3 expired secret(s) with their data keys; the write-ahead log is checkpointed.\n")
    assert _audit_actions(cli_settings)[-1] == ("vault.purge", "secrets=3", "success")
    with sqlite3.connect(cli_settings.database_path) as conn:
        assert conn.execute("SELECT kind FROM secrets").fetchall() == [("US_SSN",)]
