"""/healthz: tells a load balancer or Docker whether this web process can serve.

Anyone may ask (a load balancer needs it), but only the monitoring networks and staff (the
/metrics allow-list) read why a check failed: an exception's text can name hosts, users and
paths. Everyone else learns which part is down; the reason is logged.
"""

import logging
import socket
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .metrics import may_scrape

logger = logging.getLogger(__name__)

# Seconds each check may take: a hung dependency makes /healthz say so, not hang with it.
CHECK_TIMEOUT = 3.0
AUDIOSOCKET_CONNECT_TIMEOUT = 2.0
# A wildcard listen address is reached on loopback (nothing binds to these here).
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104


def _database() -> str:
    # Runs in a pool thread: its own connection, closed after, so none is left behind.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _audiosocket() -> str:
    """A TCP connect closed at once: the server takes a connection closed before its UUID for a
    probe and records nothing."""
    address = settings.HEALTHZ_AUDIOSOCKET_ADDRESS
    if not address:
        return "not configured"
    host, port = parse_address(address)
    socket.create_connection((host, port), timeout=AUDIOSOCKET_CONNECT_TIMEOUT).close()
    return "ok"


def parse_address(address: str) -> tuple[str, int]:
    """ "host:port" or "[v6 address]:port" → (host, port), wildcards mapped to loopback."""
    host, _, port = address.strip().rpartition(":")
    host = host.strip("[]")
    return _WILDCARDS.get(host, host), int(port)


CHECKS = {"database": _database, "redis": _redis, "audiosocket": _audiosocket}
# Shared by every request, so a dependency that hangs ties up these threads, not new ones.
_pool = ThreadPoolExecutor(max_workers=2 * len(CHECKS), thread_name_prefix="healthz")


def run_checks(timeout: float | None = None) -> tuple[bool, dict[str, str]]:
    """Every check at once; (all passed, name → "ok", "not configured" or "error: ...")."""
    timeout = CHECK_TIMEOUT if timeout is None else timeout
    futures = {name: _pool.submit(check) for name, check in CHECKS.items()}
    wait(futures.values(), timeout=timeout)
    results, healthy = {}, True
    for name, future in futures.items():
        if not future.done():
            future.cancel()
            results[name] = f"error: no answer within {timeout:g} s"
            healthy = False
        elif (error := future.exception()) is not None:
            results[name] = f"error: {type(error).__name__}: {error}"
            healthy = False
        else:
            results[name] = future.result()
    return healthy, results


@never_cache
@require_GET
def healthz(request):
    healthy, results = run_checks()
    for name, result in results.items():
        if result.startswith("error"):
            logger.warning("/healthz: %s check failed: %s", name, result)
    if not may_scrape(request):
        results = {name: _public(result) for name, result in results.items()}
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": results},
        status=200 if healthy else 503,
    )


def _public(result: str) -> str:
    return "error" if result.startswith("error") else result
