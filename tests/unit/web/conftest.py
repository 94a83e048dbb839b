"""Staff web fixtures: ``staff_web`` (the real app with real services, see staff_support.py) and ``staff_settings``
(override it in a module to change settings)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from staff_support import FAST, StaffWeb

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.gateway.services import open_services
from securedesk.identity import PasswordHasher
from securedesk.metrics import Metrics
from securedesk.vault import LocalKeyFile
from securedesk.web.app import create_app


@pytest.fixture
def staff_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
async def staff_web(staff_settings: Settings, clock: FixedClock) -> AsyncIterator[StaffWeb]:
    LocalKeyFile(staff_settings.key_dir).add_version()
    metrics = Metrics(process_metrics=False)
    async with open_services(staff_settings, clock=clock, metrics=metrics, hasher=PasswordHasher(FAST)) as services:
        app = create_app(staff_settings, clock=clock, services=services)
        web = StaffWeb(app, services, staff_settings, clock)
        try:
            yield web
        finally:
            for client in web.clients:
                await client.aclose()
