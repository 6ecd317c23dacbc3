"""The shipped nginx configuration (deploy/nginx/callcenter.conf) in front of a real Daphne:
a slow-loris client is cut off while others are served, the admin and the live monitor's
websocket pass through, and /metrics and the dialplan's endpoints stay inside.

Needs nginx (Debian: apt-get install nginx-light); skipped without it. The configuration is
used as shipped, with only its addresses, ports and certificate paths replaced.
"""

import socket
import ssl
import time

import pytest

from tests.helpers.nginx import SHIPPED, shipped_nginx
from tests.helpers.web_process import start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

HEADER_TIMEOUT = 10  # client_header_timeout in the shipped file (checked below)


@pytest.fixture
def daphne():
    process = start_daphne(env={"TRUSTED_PROXIES": "127.0.0.1/32"})
    yield process
    process.stop()


@pytest.fixture
def proxy(daphne, tmp_path):
    """nginx with the shipped site, in front of `daphne`; yields its HTTPS port."""
    assert f"client_header_timeout {HEADER_TIMEOUT}s;" in SHIPPED.read_text()
    with shipped_nginx(daphne.port, tmp_path) as https_port:
        yield https_port


def _tls(port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    return context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=60))


def _request(port: int, path: str, extra: str = "") -> str:
    """One request through the proxy; the status line and headers of the answer."""
    with _tls(port) as conn:
        head = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n"
        conn.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := conn.recv(4096)):
            answer += chunk
    return answer.split(b"\r\n\r\n")[0].decode("latin-1")


def test_a_slow_loris_client_is_cut_off_while_others_are_served(proxy):
    slow = [_tls(proxy) for _ in range(20)]
    started = time.monotonic()
    for conn in slow:
        conn.sendall(b"GET /admin/login/ HTTP/1.1\r\nHost: localhost\r\n")
    assert _request(proxy, "/admin/login/").startswith("HTTP/1.1 200")
    closed_after = []
    for conn in slow:
        # The slow client never finishes its headers; nginx closes within its time-out.
        try:
            leftover = conn.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            leftover = b""
        assert not leftover.startswith(b"HTTP/1.1 200"), "a half-sent request was served"
        closed_after.append(time.monotonic() - started)
        conn.close()
    assert max(closed_after) < 3 * HEADER_TIMEOUT, closed_after
    assert _request(proxy, "/admin/login/").startswith("HTTP/1.1 200")


def test_metrics_and_the_dialplan_endpoints_are_not_served_to_the_internet(proxy):
    assert _request(proxy, "/metrics").startswith("HTTP/1.1 404")
    route = "/calls/00000000-0000-0000-0000-000000000001/route"
    assert _request(proxy, route).startswith("HTTP/1.1 404")
    assert "operator" not in _request(proxy, route)


def test_the_live_monitors_websocket_passes_through(proxy):
    upgrade = (
        "Upgrade: websocket\r\nConnection: Upgrade\r\nOrigin: https://localhost\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    with _tls(proxy) as conn:
        conn.sendall(f"GET /ws/live-calls/ HTTP/1.1\r\nHost: localhost\r\n{upgrade}\r\n".encode())
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer[:200]
