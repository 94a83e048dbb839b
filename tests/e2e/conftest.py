"""End-to-end fixtures (the harness itself is e2e_harness.py beside this file).

- ``securedesk_server`` (one per test module): ``securedesk init`` + ``securedesk serve`` running, ready over TLS, for
  tests that do not change its state; at the end it gets SIGTERM and must exit 0 without a traceback.
- ``server_factory`` (per test): ``server_factory(**settings)`` starts another one (``metrics_port="9100"`` becomes
  ``SECUREDESK_METRICS_PORT``; ``init=False`` lets ``serve`` initialize); for tests that stop, break or reconfigure
  a server. Every server still running at the end must exit 0 on SIGTERM. ``server_factory.installation(**settings)``
  only runs ``securedesk init`` (for tests of what ``serve`` refuses).
- ``free_port``: a free loopback TCP port.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import RunningServer, ServerFactory, pick_free_port, start_server


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    factory = ServerFactory(tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def securedesk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("securedesk"))
    yield server
    server.assert_clean_exit()
