"""Browser fixtures: ``browser`` (one Chromium per test module, trusting that module's ``securedesk_server``),
``browser_context`` (HTTPS errors not ignored, the CSP listener installed) and ``browser_page`` (a ``BrowserPage``
recording console errors, page errors and CSP violations). Mark tests ``@pytest.mark.browser``; keep async tests out
of browser test modules (Playwright's sync API holds a running asyncio loop while a module's browser is open).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import CHROMIUM, CSP_LISTENER, BrowserPage, launch_chromium
from e2e_harness import RunningServer
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Playwright, sync_playwright


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium); no browser is downloaded")
    return CHROMIUM


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Module scope, not session: while the sync API is open it holds an asyncio loop running in this thread, and
    # pytest-asyncio could not run any async test after it. Browser test modules must hold no async tests.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: Path, securedesk_server: RunningServer) -> Iterator[Browser]:
    instance = launch_chromium(playwright, chromium_path, trust=securedesk_server)
    yield instance
    instance.close()


@pytest.fixture
def browser_context(browser: Browser, securedesk_server: RunningServer) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=securedesk_server.base_url,
        ignore_https_errors=False,
        locale="en-GB",
        viewport={"width": 1280, "height": 800},
    )
    context.add_init_script(CSP_LISTENER)
    yield context
    context.close()


@pytest.fixture
def browser_page(browser_context: BrowserContext) -> BrowserPage:
    page = browser_context.new_page()
    watched = BrowserPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.console_errors.append(message.text)

    def on_page_error(error: Any) -> None:
        watched.page_errors.append(str(error))

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return watched
