"""The shipped nginx configuration (deploy/nginx/callcenter.conf) in front of a real Daphne:
a slow-loris client is cut off while others are served, the admin and the live monitor's
websocket pass through, and /metrics and the dialplan's endpoints stay inside.

Needs nginx (Debian: apt-get install nginx-light); skipped without it. The configuration is
used as shipped, with only its addresses, ports and certificate paths replaced.
"""

import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.server_process import free_port
from tests.helpers.web_process import start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "callcenter.conf"
HEADER_TIMEOUT = 10  # client_header_timeout in the shipped file (checked below)

MAIN = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/callcenter.conf;
}}
"""


@pytest.fixture
def daphne():
    process = start_daphne(env={"TRUSTED_PROXIES": "127.0.0.1/32"})
    yield process
    process.stop()


@pytest.fixture
def proxy(daphne, tmp_path):
    """nginx with the shipped site, in front of `daphne`; yields its HTTPS port."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", tmp_path / "privkey.pem",
         "-out", tmp_path / "fullchain.pem"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = SHIPPED.read_text()
    assert f"client_header_timeout {HEADER_TIMEOUT}s;" in site
    http_port, https_port = free_port(), free_port()
    for shipped, here in [
        ("server web:8000;", f"server 127.0.0.1:{daphne.port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/nginx/tls/", f"{tmp_path}/"),
    ]:
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    (tmp_path / "callcenter.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(MAIN.format(dir=tmp_path))
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
    yield https_port
    process.terminate()
    process.wait(10)


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
