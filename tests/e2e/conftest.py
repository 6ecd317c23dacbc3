"""E2E fixtures: the real `run_audiosocket`, started for each test on a free port, or a server
already running elsewhere, named by E2E_AUDIOSOCKET_HOST and E2E_AUDIOSOCKET_PORT.

An external server must use the test database for the tests' database checks to hold: start it
with DATABASE_URL pointing at `test_<name>` and run pytest with `--reuse-db` (see docs/testing.md).
"""

import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection

from tests.helpers.server_process import free_port, start_server
from tests.helpers.tcp_proxy import TCPProxy

# Short enough for a test to wait through twice, long enough not to interrupt a slow turn.
E2E_NO_INPUT_TIMEOUT = 4.0


@dataclass
class ExternalServer:
    host: str
    port: int
    no_input_timeout: float = settings.NO_INPUT_TIMEOUT
    local: bool = False

    def stop(self) -> None:
        """Not ours to stop."""


@pytest.fixture
def server():
    host = os.environ.get("E2E_AUDIOSOCKET_HOST")
    if host:
        yield ExternalServer(host, int(os.environ.get("E2E_AUDIOSOCKET_PORT", "9092")))
        return
    process = start_server(env={"NO_INPUT_TIMEOUT": str(E2E_NO_INPUT_TIMEOUT)})
    process.no_input_timeout = E2E_NO_INPUT_TIMEOUT
    process.local = True
    yield process
    process.stop()


@pytest.fixture
def local_server(server):
    """Scenarios that stop or restart the server need one of their own."""
    if not getattr(server, "local", False):
        pytest.skip("needs a server this test starts and stops (not E2E_AUDIOSOCKET_HOST)")
    return server


@pytest.fixture
def metered_server():
    """A server of this test's own that serves /metrics and /healthz on a free port. The repeat
    agent says back what it heard: the call is real, the dialogue beside the point."""
    metrics_port = free_port()
    process = start_server("--metrics-port", str(metrics_port), env={"AGENT": "repeat"})
    process.metrics_port = metrics_port
    yield process
    process.stop()


@pytest.fixture
def database_proxy():
    """A TCP proxy in front of PostgreSQL that a test cuts to make the database go away. SQLite
    is a file inside the server's own process: it cannot go away from under it."""
    if connection.vendor != "postgresql":
        pytest.skip("a database outage is injected into PostgreSQL (CI runs it on PostgreSQL)")
    db = connection.settings_dict
    proxy = TCPProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)).start()
    yield proxy
    proxy.stop()
