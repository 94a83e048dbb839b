"""``securedesk users``: add prints a one-time link, list, role, queues, disable, enrol-link; audited as cli:<user>."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from securedesk.cli import main
from securedesk.cli.init_command import ensure_first_admin_account, migrate_database, run_init
from securedesk.config import Settings


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SECUREDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECUREDESK_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("SECUREDESK_PUBLIC_BASE_URL", "https://desk.example.test/")
    return tmp_path / "data" / "securedesk.db"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_commands_end_to_end(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "users", "add", "Alice", "--role", "agent", "--queues", "general, Billing")
    assert code == 0
    assert re.search(r"^  https://desk\.example\.test/enrol/[A-Za-z0-9_-]{43}$", out, flags=re.MULTILINE)
    assert "Staff account 'alice' (agent) is pending enrolment." in out
    assert run(capsys, "users", "add", "root", "--role", "admin")[0] == 0

    code, out, _ = run(capsys, "users", "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["NAME", "ROLE", "STATUS", "QUEUES", "CREATED", "ENROLLED"]
    assert lines[1].split()[:4] == ["alice", "agent", "pending", "billing,general"]
    assert lines[2].split()[:4] == ["root", "admin", "pending", "-"]

    assert run(capsys, "users", "role", "alice", "compliance")[1] == (
        "Updated alice (compliance, pending, queues: billing,general).\n"
    )
    assert run(capsys, "users", "queues", "alice", "")[1] == "Updated alice (compliance, pending, queues: -).\n"
    code, _, err = run(capsys, "users", "disable", "root")
    assert code == 2
    assert "last administrator" in err
    code, out, _ = run(capsys, "users", "disable", "alice")
    assert code == 0
    assert out.startswith("Disabled alice (compliance, disabled")
    code, out, _ = run(capsys, "users", "enrol-link", "root")
    assert code == 0
    assert "/enrol/" in out

    code, _, err = run(capsys, "users", "add", "alice", "--role", "agent")
    assert code == 2
    assert "already exists" in err
    code, _, err = run(capsys, "users", "add", "Bad Name", "--role", "agent")
    assert code == 2
    assert "is not valid" in err
    code, _, err = run(capsys, "users", "role", "nobody", "agent")
    assert code == 2
    assert "No staff account named 'nobody'" in err
    with pytest.raises(SystemExit):
        main(["users", "add", "x1", "--role", "root"])

    with sqlite3.connect(env) as raw:
        events = raw.execute("SELECT actor, role, channel, action FROM audit_events ORDER BY seq").fetchall()
    assert [e[3] for e in events] == [
        "user.create",
        "user.create",
        "user.role_change",
        "user.queues_change",
        "user.disable",
        "user.enrolment_reset",
    ]
    assert {e[:3] for e in events} == {(events[0][0], "system", "cli")}
    assert events[0][0].startswith("cli:")


async def test_init_creates_the_first_admin_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", key_dir=tmp_path / "keys", cert_dir=tmp_path / "certs")
    steps = (("database", migrate_database), ("first admin", ensure_first_admin_account))
    lines: list[str] = []
    await run_init(settings, steps=steps, echo=lines.append)
    await run_init(settings, steps=steps, echo=lines.append)
    assert re.fullmatch(
        r"first admin: created 'admin' \(pending\): open this one-time link within 24 h to set its password and "
        r"TOTP: https://localhost:8443/enrol/[A-Za-z0-9_-]{43}",
        lines[1],
    )
    assert lines[3] == "first admin: an admin account exists (`securedesk users list`)"
