"""nginx with the shipped site (deploy/nginx/callcenter.conf) in front of a test's Daphne, on
ports of 127.0.0.1, with a self-signed certificate; only the addresses, ports and certificate
paths of the shipped file are replaced."""

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.server_process import free_port

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "callcenter.conf"

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


@contextmanager
def shipped_nginx(daphne_port: int, folder: Path, https_port: int | None = None):
    """Run nginx with the shipped site towards Daphne on `daphne_port`; yields its HTTPS port.
    Skips the test when nginx is not installed (Debian: apt-get install nginx-light)."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not nginx:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", folder / "privkey.pem",
         "-out", folder / "fullchain.pem"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = SHIPPED.read_text()
    http_port, https_port = free_port(), https_port or free_port()
    for shipped, here in [
        ("server web:8000;", f"server 127.0.0.1:{daphne_port};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/nginx/tls/", f"{folder}/"),
    ]:
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    (folder / "callcenter.conf").write_text(site)
    (folder / "nginx.conf").write_text(MAIN.format(dir=folder))
    process = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, (folder / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield https_port
    finally:
        process.terminate()
        process.wait(10)
