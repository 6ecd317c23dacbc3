"""The Test call page behind the production profile: Daphne with DJANGO_ENV=production (secure
cookies, HTTPS redirect, the Origin check of the websocket, collected static files under
their hashed names) behind the shipped nginx over HTTPS. Chromium logs in through the form
(CSRF), opens the page, holds a text chat and opens the microphone over wss://, and a
websocket from another origin is refused.

Needs nginx (skipped without it, as tests/e2e/test_proxy.py).
"""

import socket
import ssl
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.helpers.chromium import chromium, log_in, write_wav
from tests.helpers.nginx import shipped_nginx
from tests.helpers.server_process import ROOT, TEST_SERVER_ENV, database_url, free_port
from tests.helpers.voices import caller_voice
from tests.helpers.web_process import start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PASSWORD = "winter tires 205/55"
WAIT_MS = 90_000


@pytest.fixture
def site(tmp_path):
    """Production Daphne behind nginx; yields the site's https://localhost:<port> address."""
    https_port = free_port()
    origin = f"https://localhost:{https_port}"
    static = tmp_path / "static"
    env = {
        **TEST_SERVER_ENV,
        "DJANGO_ENV": "production",
        "SECRET_KEY": "test-call-production-profile-secret-key-0123456789",
        "ALLOWED_HOSTS": "localhost",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        # nginx hands Daphne `Host: localhost` (the shipped `proxy_set_header Host $host`),
        # while the browser's Origin carries the test's port; on 443 the two agree by
        # themselves, here the origin is named as a deployment on another port would.
        "CSRF_TRUSTED_ORIGINS": origin,
        "STATIC_ROOT": str(static),
        "NO_INPUT_TIMEOUT": "120",
    }
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**_environment(), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    daphne = start_daphne(env=env)
    nginx_folder = tmp_path / "nginx"
    nginx_folder.mkdir()
    try:
        with shipped_nginx(daphne.port, nginx_folder, https_port):
            yield origin, daphne
    finally:
        daphne.stop()


def _environment() -> dict:
    import os

    return {**os.environ, "ENV_FILE": os.devnull, "DATABASE_URL": database_url()}


@pytest.fixture
def tester():
    user = get_user_model().objects.create_user(username="tester", password=PASSWORD, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="place_test_call"))
    return user


def _handshake(port: int, origin: str, cookie: str) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
    raw = socket.create_connection(("127.0.0.1", port), timeout=60)
    with context.wrap_socket(raw, server_hostname="localhost") as conn:
        conn.sendall(
            (
                "GET /ws/test-call/ HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nOrigin: {origin}\r\nCookie: {cookie}\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        return conn.recv(4096)


def test_the_page_works_over_https_behind_the_production_settings(site, tester, tmp_path):
    from playwright.sync_api import expect

    origin, daphne = site
    microphone = write_wav(
        tmp_path / "caller.wav", caller_voice("Hello", 16000) + bytes(32000), 16000
    )
    with chromium(microphone) as browser:
        context = browser.new_context(permissions=["microphone"], ignore_https_errors=True)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        try:
            response = log_in(page, origin, "tester", PASSWORD, "/admin/test-call/")
            assert response.status == 200
            session = next(c for c in context.cookies() if c["name"] == "sessionid")
            assert session["secure"] and session["httpOnly"]

            # A text chat over wss:// through nginx.
            page.check("input[name=mode][value=text]")
            page.click("#tc-start")
            bot = page.locator("#tc-transcript .turn.bot")
            expect(bot.first).to_contain_text("How can I help you", timeout=WAIT_MS)
            page.fill("#tc-message", "I need winter tires")
            page.press("#tc-message", "Enter")
            expect(bot).to_have_count(2, timeout=WAIT_MS)
            page.click("#tc-hangup")
            expect(page.locator("#tc-end")).to_be_visible(timeout=WAIT_MS)

            # The microphone: the worklet loads from the collected static files, and frames go.
            page.check("input[name=mode][value=voice]")
            page.click("#tc-start")
            expect(page.locator("#tc-status")).to_contain_text("In call", timeout=WAIT_MS)
            page.wait_for_function("window.testCall.sentFrames > 25", timeout=WAIT_MS)
            page.wait_for_function("window.testCall.playedSamples > 0", timeout=WAIT_MS)
            page.click("#tc-hangup")
            expect(page.locator("#tc-end")).to_be_visible(timeout=WAIT_MS)
            assert not problems, problems
        except Exception:
            print("--- daphne ---\n" + daphne.log[-6000:])
            raise

    port = int(origin.rsplit(":", 1)[1])
    cookie = f"sessionid={session['value']}"
    assert _handshake(port, origin, cookie).startswith(b"HTTP/1.1 101")
    # Another site's page using the tester's cookie is refused at the handshake.
    assert _handshake(port, "https://evil.example", cookie).startswith(b"HTTP/1.1 403")
