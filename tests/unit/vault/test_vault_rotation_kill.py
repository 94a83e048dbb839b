"""A real ``securedesk keys rotate`` process, slowed down by ``rotation_batch_pause_seconds``, is SIGKILLed while it
holds a batch's write transaction; the resumed rotation loses nothing and moves every data key to the new version."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from vault_support import AuditRecorder

from securedesk.cli.init_command import run_init
from securedesk.clock import SystemClock
from securedesk.config import Settings
from securedesk.sensitive import Sensitive
from securedesk.storage.database import Database
from securedesk.vault import KeyRotation, SealRequest, Vault

CARDS = ("4111111111111111", "5555555555554444", "378282246310005", "6011111111111117")
TOTAL = 600
BATCH = 25


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECUREDESK_")}
    env.update(
        SECUREDESK_DATA_DIR=str(settings.data_dir),
        SECUREDESK_KEY_DIR=str(settings.key_dir),
        SECUREDESK_CERT_DIR=str(settings.cert_dir),
        **extra,
    )
    return env


def _cli(settings: Settings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "securedesk.cli", *args],
        env=_env(settings, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _rotated(path: Path) -> int:
    with sqlite3.connect(path, timeout=5) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM secrets WHERE kek_version = 2").fetchone()[0])


def _kill_inside_a_batch(process: subprocess.Popen[str], db_path: Path, deadline: float) -> bool:
    """SIGKILL ``process`` the moment it is seen holding the write lock after its first batch committed."""
    while _rotated(db_path) == 0:
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    probe = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        while process.poll() is None and time.monotonic() < deadline:
            try:
                probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc):
                    process.send_signal(signal.SIGKILL)
                    return True
                raise
            probe.execute("ROLLBACK")
    finally:
        probe.close()
    return False


async def _seal_cards(settings: Settings) -> list[str]:
    await run_init(settings, echo=lambda line: None)
    db = await Database.open(settings.database_path)
    try:
        vault = await Vault.load(settings, db, SystemClock())
        refs = await vault.seal_many(
            [SealRequest("CREDIT_CARD", Sensitive(CARDS[i % len(CARDS)]), "chat") for i in range(TOTAL)]
        )
    finally:
        await db.close()
    return [r.token for r in refs]


async def _open_all(settings: Settings, tokens: list[str]) -> dict[int, tuple[str, int, bool]]:
    db = await Database.open(settings.database_path)
    try:
        vault = await Vault.load(settings, db, SystemClock())
        audit = AuditRecorder()
        for i, token in enumerate(tokens):
            opened = await vault.open(token, actor="stf_alice", reason="rotation check", audit=audit)
            assert opened.reveal() == CARDS[i % len(CARDS)]
        return {s.version: (s.state, s.secrets, s.index_root) for s in await KeyRotation(vault).status()}
    finally:
        await db.close()


def test_rotation_killed_mid_batch_then_resumed(settings: Settings) -> None:
    tokens = asyncio.run(_seal_cards(settings))
    process = subprocess.Popen(
        [sys.executable, "-m", "securedesk.cli", "keys", "rotate", "--batch-size", str(BATCH)],
        env=_env(settings, SECUREDESK_ROTATION_BATCH_PAUSE_SECONDS="0.05"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        killed = _kill_inside_a_batch(process, settings.database_path, time.monotonic() + 120)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        reader.join(timeout=30)
    assert killed, "".join(output)
    assert process.returncode == -signal.SIGKILL
    assert output[0].startswith("Adding a KEK version after 1 in key directory")

    done = _rotated(settings.database_path)
    assert 0 < done < TOTAL
    assert done % BATCH == 0, "a batch was half applied"

    status = _cli(settings, "keys", "status")
    assert status.returncode == 0, status.stderr
    assert "run `securedesk keys rotate --resume`" in status.stdout

    resumed = _cli(settings, "keys", "rotate", "--resume", "--batch-size", "100")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith(f"Resuming the unfinished rotation to KEK version 2: {TOTAL - done + 1} data key")
    assert f"Rotation to KEK version 2 complete: {TOTAL - done + 1} data key(s) re-wrapped" in resumed.stdout

    assert asyncio.run(_open_all(settings, tokens)) == {1: ("active", 0, False), 2: ("current", TOTAL, True)}
    assert sorted(p.name for p in settings.key_dir.glob("kek-v*.key")) == ["kek-v1.key", "kek-v2.key"]

    final = _cli(settings, "keys", "status").stdout.splitlines()
    assert final[1].split() == [
        "version",
        "state",
        "created",
        "(UTC)",
        "secrets",
        "fields",
        "index",
        "root",
        "data",
        "keys",
    ]
    first, second = final[2].split(), final[3].split()
    assert first[:2] + first[3:] == ["1", "active", "0", "0", "-", "0"]
    assert second[:2] + second[3:] == ["2", "current", str(TOTAL), "0", "yes", str(TOTAL + 1)]
