"""The AudioSocket process's /healthz and /metrics endpoint, on its own: what makes it say 503,
and that stopping it releases the port."""

import json
import socket
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
from django.core.management.base import CommandError

from calls.audiosocket import status
from calls.management.commands.run_audiosocket import Command


def _server(**changes) -> SimpleNamespace:
    """The attributes /healthz reads of an AudioSocketServer, healthy unless changed."""
    state = {
        "accepting": True,
        "sessions": {},
        "config": SimpleNamespace(max_calls=200),
        "recorder": SimpleNamespace(pending=0, outage=False, stuck_seconds=None, quarantined=0),
        "clock": SimpleNamespace(last_tick=time.monotonic()),
    }
    return SimpleNamespace(**{**state, **changes})


def test_a_server_that_accepts_and_ticks_is_healthy():
    healthy, body = status.health(_server(sessions={1: None, 2: None}), time.monotonic())
    assert healthy is True
    assert body["status"] == "ok" and body["active_calls"] == 2 and body["max_calls"] == 200
    assert body["seconds_since_clock_tick"] < 0.5


def test_a_frame_clock_that_stopped_ticking_is_unhealthy():
    stalled = _server(clock=SimpleNamespace(last_tick=time.monotonic() - 2))
    healthy, body = status.health(stalled, time.monotonic() - 60)
    assert healthy is False and body["seconds_since_clock_tick"] >= 2


def test_a_clock_that_never_ticked_is_given_a_second_from_start():
    never = _server(clock=SimpleNamespace(last_tick=None))
    assert status.health(never, time.monotonic())[0] is True
    assert status.health(never, time.monotonic() - 5)[0] is False


def test_a_draining_server_is_unhealthy():
    healthy, body = status.health(_server(accepting=False), time.monotonic())
    assert healthy is False
    assert (body["status"], body["accepting"]) == ("unhealthy", False)


def test_a_database_outage_is_reported_but_calls_go_on():
    recorder = SimpleNamespace(pending=7, outage=True, stuck_seconds=12.04, quarantined=0)
    healthy, body = status.health(_server(recorder=recorder), time.monotonic())
    assert healthy is True  # the recorder keeps the records in memory meanwhile
    assert body["database_writes_failing"] is True and body["records_pending"] == 7
    # ...but whoever watches the process is told that records are stuck.
    assert body["status"] == "degraded" and body["records_stuck_seconds"] == 12.0


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_endpoint_serves_both_paths_and_releases_its_port_on_stop():
    server = _server()
    endpoint = status.StatusEndpoint(server, "127.0.0.1", 0)
    endpoint.start()
    try:
        code, body = _get(endpoint.port, "/healthz")
        assert code == 200 and json.loads(body)["accepting"] is True
        server.accepting = False
        assert _get(endpoint.port, "/healthz")[0] == 503
        code, text = _get(endpoint.port, "/metrics")
        assert code == 200 and "callcenter_turn_total_seconds_bucket" in text
        assert _get(endpoint.port, "/")[0] == 200  # where start_http_server served them
        assert _get(endpoint.port, "/admin")[0] == 404
    finally:
        endpoint.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", endpoint.port), timeout=2).close()


def _options(**changes) -> dict:
    parser = Command().create_parser("manage.py", "run_audiosocket")
    return {**vars(parser.parse_args([])), **changes}


def test_the_endpoint_binds_to_loopback_unless_told_otherwise():
    assert Command.build_config(_options()).metrics_host == "127.0.0.1"
    config = Command.build_config(_options(metrics_host="10.0.0.5", metrics_port=9100))
    assert (config.metrics_host, config.metrics_port) == ("10.0.0.5", 9100)


def test_a_metrics_port_out_of_range_is_refused():
    with pytest.raises(CommandError, match="--metrics-port 70000 is not a TCP port"):
        Command.build_config(_options(metrics_port=70000))
