"""Shared fixtures: settings rooted in a temporary directory, a fixed clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from securedesk.clock import FixedClock
from securedesk.config import Settings


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", key_dir=tmp_path / "keys", cert_dir=tmp_path / "certs")
