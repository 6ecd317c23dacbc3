"""The web server's access log without personal data: each request's method, path, status and
size through logging (so the handler's masking filter applies), with query values left out.

Daphne's own access log prints every URL in full to stdout, admin searches for a customer's
name or phone number included (`/admin/orders/order/?q=Petrenko`), and has no filter to hook.
The project runs Daphne with it off (`daphne -v 0`) and this middleware logs in its place.
"""

import logging
import time
from urllib.parse import parse_qsl

logger = logging.getLogger("callcenter.access")


def without_values(query_string: bytes) -> str:
    """`q=Petro&p=2` becomes `q=…&p=…`: which parameters came, not what was searched for."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return "&".join(f"{name[:40]}=…" for name, _ in pairs)


def _request_line(scope: dict, method: str) -> str:
    query = without_values(scope.get("query_string", b""))
    return f"{method} {scope.get('path', '')}{'?' + query if query else ''}"


class AccessLog:
    """ASGI middleware: one log line per HTTP request when it ends, one per websocket opened."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive, send) -> None:
        client = (scope.get("client") or ["-"])[0]
        if scope["type"] == "websocket":
            logger.info('%s "%s"', client, _request_line(scope, "WEBSOCKET"))
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status: int | str = "-"
        size = 0

        async def sending(message: dict) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            logger.info(
                '%s "%s" %s %d %.0fms',
                client,
                _request_line(scope, scope.get("method", "-")),
                status,
                size,
                (time.monotonic() - started) * 1000,
            )
