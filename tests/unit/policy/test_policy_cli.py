"""`securedesk policy check|show`: through the real console script, and in-process through ``main`` for speed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from securedesk.cli import main

WritePolicy = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(sys.executable).with_name("securedesk")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SECUREDESK_")}
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def run_main(
    args: list[str], cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    monkeypatch.chdir(cwd)
    for key in list(os.environ):
        if key.startswith("SECUREDESK_"):
            monkeypatch.delenv(key)
    code = main(args)
    return code, capsys.readouterr().out


def test_shipped_policies_pass() -> None:
    result = run("policy", "check", "policies/default.toml", "policies/strict.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "policies/default.toml: OK (25 rules)\npolicies/strict.toml: OK (25 rules)\n"
    assert result.stderr == ""


def test_default_file_is_the_policy_path_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_main(["policy", "check"], ROOT, capsys, monkeypatch) == (0, "policies/default.toml: OK (25 rules)\n")


def test_every_problem_of_every_file_and_exit_1(write_policy: WritePolicy, minimal: str, tmp_path: Path) -> None:
    write_policy(minimal, "good.toml")
    write_policy(minimal.replace('"redact"', '"mask"') + "\n[channels.sms]\n", "bad.toml")
    write_policy("[defaults\n", "broken.toml")
    result = run("policy", "check", "good.toml", "bad.toml", "broken.toml", "missing.toml", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "good.toml: OK (25 rules)",
        "bad.toml:2: unknown action 'mask' for [defaults]; use one of redact, vault, block, allow",
        "bad.toml:8: unknown channel 'sms' in [channels]; use one of chat, email, form, webhook, api",
    ]
    assert lines[3].startswith("broken.toml:1:")
    assert "invalid TOML" in lines[3]
    assert lines[4] == (
        "missing.toml: cannot read the file (No such file or directory); check the path (setting policy_path)"
    )
    assert len(lines) == 5


def test_settings_policy_path_is_used(
    write_policy: WritePolicy,
    minimal: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_policy(minimal.replace("0.5", "2"), "custom.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECUREDESK_POLICY_PATH", str(path))
    assert main(["policy", "check"]) == 1
    assert (
        capsys.readouterr().out == f"{path}:3: threshold 2 for [defaults] is out of range; use a number from 0 to 1\n"
    )


def test_show_prints_the_resolved_matrix(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run_main(["policy", "show", "policies/strict.toml"], ROOT, capsys, monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("policy 'strict' from policies/strict.toml (sha256 ")
    assert lines[1].split() == ["entity", "channel", "action", "threshold", "retention", "reveal", "nudge"]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in lines[2:27]}
    assert len(rows) == 25
    assert rows[("CREDIT_CARD", "chat")] == ["block", "0.40", "7d", "agent", "yes"]
    assert rows[("IBAN_CODE", "form")] == ["vault", "0.40", "30d", "agent", "no"]
    assert rows[("US_SSN", "webhook")] == ["redact", "0.40", "7d", "agent", "no"]
    assert lines[27] == "allow-listed values: CREDIT_CARD 0, US_SSN 0, FR_NIR 0, SE_PERSONNUMMER 0, IBAN_CODE 0"
    assert lines[28] == (
        "email: auto_reply on; attachments text=screen, document=withhold, image=withhold, archive=withhold, "
        "other=withhold"
    )


def test_show_an_invalid_policy_prints_its_problems(
    write_policy: WritePolicy, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_policy("[defaults]\n", "empty.toml")
    code, out = run_main(["policy", "show", "empty.toml"], tmp_path, capsys, monkeypatch)
    assert code == 1
    assert out.splitlines() == [
        f"empty.toml:1: [defaults] lacks {key!r}; add {example} (every rule starts from [defaults])"
        for key, example in [
            ("action", 'action = "redact"'),
            ("threshold", "threshold = 0.5"),
            ("retention_days", "retention_days = 30"),
            ("reveal_roles", 'reveal_roles = ["agent"]'),
            ("nudge", "nudge = true"),
        ]
    ]


@pytest.mark.parametrize("args", [["policy"], ["policy", "lint"]])
def test_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert "usage: securedesk policy" in capsys.readouterr().err
