"""Email fixtures: the real Detector (one per session), a real SQLite database in tmp_path, and the real screening
stack on it (``email_screening.open_screening``): Vault with a real key file, AuditLog, Screener, default policy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from email_screening import Screening, open_screening

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.storage.database import Database


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector.create(languages=("en", "fr", "sv"))


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings.database_path)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def screening(
    settings: Settings, db: Database, clock: FixedClock, detector: Detector
) -> AsyncIterator[Screening]:
    parts = await open_screening(settings, db, clock, detector=detector)
    try:
        yield parts
    finally:
        parts.screener.close()
