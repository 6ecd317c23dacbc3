"""The test-call socket on a real Daphne: the handshake of a visitor who is not logged in, or is
staff without the permission, is answered with HTTP 403 (what the browser reports); a permitted
user's is switched to the websocket protocol."""

import base64
import os
import socket

import pytest

from .conftest import PATH, make_user, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def _handshake_status(web, cookie: str = "") -> int:
    """The HTTP status Daphne answers a browser's websocket handshake with."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{web.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{web.port}\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "\r\n"
    )
    with socket.create_connection((web.host, web.port), timeout=30) as connection:
        connection.sendall(request.encode())
        status_line = connection.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def test_the_browser_sees_403_unless_permitted(web):
    assert _handshake_status(web) == 403
    assert _handshake_status(web, session_cookie(make_user(permitted=False))) == 403
    assert _handshake_status(web, session_cookie(make_user())) == 101
