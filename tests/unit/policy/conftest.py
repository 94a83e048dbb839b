"""Helpers for policy tests: write a policy file into tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

MINIMAL = """\
[defaults]
action = "redact"
threshold = 0.5
retention_days = 30
reveal_roles = ["compliance"]
nudge = true
"""

WritePolicy = Callable[..., Path]


@pytest.fixture
def minimal() -> str:
    """The smallest valid policy: [defaults] with every key."""
    return MINIMAL


@pytest.fixture
def write_policy(tmp_path: Path) -> WritePolicy:
    def write(text: str, name: str = "p.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write
