"""Customer-path fixtures: ``customer_web`` (the real app with real services, see customer_support.py) and
``customer_settings`` (override it in a module to change settings)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from customer_support import FAST, CustomerWeb

from securedesk.clock import FixedClock
from securedesk.config import Settings
from securedesk.gateway.services import open_services
from securedesk.identity import PasswordHasher
from securedesk.metrics import Metrics
from securedesk.vault import LocalKeyFile
from securedesk.web.app import create_app


@pytest.fixture
def customer_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
async def customer_web(customer_settings: Settings, clock: FixedClock) -> AsyncIterator[CustomerWeb]:
    LocalKeyFile(customer_settings.key_dir).add_version()
    metrics = Metrics(process_metrics=False)
    async with open_services(customer_settings, clock=clock, metrics=metrics, hasher=PasswordHasher(FAST)) as services:
        app = create_app(customer_settings, clock=clock, services=services)
        web = CustomerWeb(app, services, customer_settings, clock)
        try:
            yield web
        finally:
            for client in web.clients:
                await client.aclose()
