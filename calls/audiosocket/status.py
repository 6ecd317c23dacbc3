"""The AudioSocket process's own HTTP endpoint: /metrics (its live Prometheus registry) and
/healthz (can it take calls now), served by a stdlib WSGI server in a daemon thread.

The handlers run outside the event loop and only read plain attributes of the server, so a
scrape never waits for the loop and the loop never waits for a scrape; a stalled loop shows up
here as a frame clock that stopped ticking.
"""

import json
import logging
import socket
import threading
import time
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

logger = logging.getLogger(__name__)

# The clock ticks every 20 ms; a second without a tick means the event loop is stuck.
MAX_TICK_AGE = 1.0


class ServerState(Protocol):
    """What /healthz reads of calls.audiosocket.server.AudioSocketServer."""

    accepting: bool
    sessions: dict
    config: Any
    recorder: Any
    clock: Any


def health(server: ServerState, started_at: float) -> tuple[bool, dict]:
    """Whether the process can take calls, and the figures that say why (JSON-ready).

    `started_at` (time.monotonic()) stands in for the clock's last tick until its first one.
    """
    last_tick = server.clock.last_tick or started_at
    tick_age = round(time.monotonic() - last_tick, 3)
    accepting = bool(server.accepting)
    healthy = accepting and tick_age <= MAX_TICK_AGE
    recorder = server.recorder
    stuck = recorder.stuck_seconds
    status = "unhealthy"
    if healthy:
        # Calls are still taken (so 200), but their records wait in memory and the spool:
        # whoever watches the process must look at the database.
        status = "degraded" if stuck is not None else "ok"
    return healthy, {
        "status": status,
        "accepting": accepting,
        "active_calls": len(server.sessions),
        "max_calls": server.config.max_calls,
        "records_pending": _records_pending(recorder),
        # The recorder keeps records in memory while the database is away.
        "database_writes_failing": recorder.outage,
        "records_stuck_seconds": None if stuck is None else round(stuck, 1),
        "records_quarantined": recorder.quarantined,
        "seconds_since_clock_tick": tick_age,
    }


def _records_pending(recorder) -> int | None:
    # The loop may add or drop a call while this thread counts; count again rather than lock.
    for _ in range(3):
        try:
            return recorder.pending
        except RuntimeError:
            continue
    return None


def status_app(server: ServerState):
    """The WSGI app: /healthz, and the Prometheus text on /metrics (and /, as before)."""
    metrics = make_wsgi_app()
    started_at = time.monotonic()

    def app(environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        if path == "/healthz":
            healthy, body = health(server, started_at)
            payload = json.dumps(body).encode()
            start_response(
                "200 OK" if healthy else "503 Service Unavailable",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(payload))),
                    ("Cache-Control", "no-store"),
                ],
            )
            return [payload]
        if path in ("/", "/metrics"):
            return metrics(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found: /metrics or /healthz\n"]

    return app


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    # A slow scraper gets its own thread; none of them keeps the process from exiting.
    daemon_threads = True


class _IPv6ThreadingServer(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        # Docker and Prometheus poll every few seconds; one log line each would drown the calls.
        logger.debug("%s %s", self.address_string(), format % args)


class StatusEndpoint:
    """Serves status_app(server) on host:port from a daemon thread until stop()."""

    def __init__(self, server: ServerState, host: str, port: int) -> None:
        server_class = _IPv6ThreadingServer if ":" in host else _ThreadingServer
        self._httpd = make_server(
            host, port, status_app(server), server_class=server_class, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="status-http",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and release the port (blocks for up to one poll interval)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
