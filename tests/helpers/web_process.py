"""Starts Daphne (the admin and the websockets, callcenter.asgi) as a subprocess for tests, on
a free port of 127.0.0.1 and on the test database."""

import re

from tests.helpers.server_process import ServerProcess, launch

READY = re.compile(r"Listening on TCP address (?P<host>[\d.]+):(?P<port>\d+)")


def start_daphne(env: dict | None = None, timeout: float = 60) -> ServerProcess:
    """Start Daphne on the test database; returns when it listens. REDIS_URL (and with it the
    channel layer) comes through from the environment when it is set."""
    # -v 0 as deployed: Daphne's own access log (full URLs) off, callcenter.access logs instead.
    command = ["-m", "daphne", "-v", "0", "--endpoint", "tcp:port=0:interface=127.0.0.1"]
    return launch([*command, "callcenter.asgi:application"], READY, env, timeout)
