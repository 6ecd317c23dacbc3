"""HTTP for the cloud and self-hosted engines (speech, LLM): one pooled client each, a time-out,
one retry where it is safe and quick, and errors that say what the API answered.

A caller is waiting on every request, so a request that timed out reading is not repeated: the
caller would wait twice. A refused connection or a 429/5xx answer is tried once more.

The pool holds `max_connections` requests at once (for a speech API: one per call, see
`speech_api_pool_size`); a request beyond waits for a free one at most `pool_timeout` seconds
and then fails like any other error (the caller hears an apology), never queueing silently.
Every request's wait for a connection is measured (callcenter_http_pool_wait_seconds).
"""

import logging
import threading
import time

import httpx

from . import metrics

logger = logging.getLogger(__name__)

DEFAULT_MAX_CONNECTIONS = 32
DEFAULT_POOL_TIMEOUT = 5.0

RETRY_STATUSES = {429, 500, 502, 503, 504}
RETRY_PAUSE = 0.2  # seconds before the one retry


def speech_api_pool_size() -> int:
    """Connections a speech API's client holds: SPEECH_API_POOL, or one per call."""
    from django.conf import settings

    return settings.SPEECH_API_POOL or settings.AUDIOSOCKET_MAX_CALLS


def speech_api_client(name: str, base_url: str, headers: dict[str, str]) -> "APIClient":
    """A speech API's client (STT or TTS, any vendor): SPEECH_API_TIMEOUT per request and a pool
    of speech_api_pool_size() connections, each waited for at most SPEECH_API_POOL_TIMEOUT."""
    from django.conf import settings

    return APIClient(
        name,
        base_url,
        headers,
        settings.SPEECH_API_TIMEOUT,
        max_connections=speech_api_pool_size(),
        pool_timeout=settings.SPEECH_API_POOL_TIMEOUT,
    )


class APIError(RuntimeError):
    """The API could not be reached or refused the request; the message says which and why."""


def api_error_message(response: httpx.Response) -> str:
    """The reason an API gave: OpenAI and Google both answer {"error": {"message": ...}}."""
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:300]
    if isinstance(error, str):
        return error[:300]
    return response.text[:300] or response.reason_phrase


class APIClient:
    """A pooled HTTP client for one API. Thread-safe: the STT executor shares it."""

    def __init__(
        self,
        name: str,
        base_url: str,
        headers: dict[str, str],
        timeout: float,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.max_connections = max(1, max_connections)
        self.pool_timeout = pool_timeout
        # The gate is the pool's size: waiting here is waiting for a connection, and measured.
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._pool_wait = metrics.HTTP_POOL_WAIT.labels(name)
        self._pool_exhausted = metrics.HTTP_POOL_EXHAUSTED.labels(name)
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0), pool=pool_timeout),
            limits=httpx.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections,
            ),
        )

    def post(self, path: str, **kwargs) -> httpx.Response:
        started = time.monotonic()
        acquired = self._slots.acquire(timeout=self.pool_timeout)
        self._pool_wait.observe(time.monotonic() - started)
        if not acquired:
            self._pool_exhausted.inc()
            raise APIError(
                f"{self.name}: all {self.max_connections} connections busy for "
                f"{self.pool_timeout:g} s (the pool is too small for the calls)"
            )
        try:
            return self._post(path, **kwargs)
        finally:
            self._slots.release()

    def _post(self, path: str, **kwargs) -> httpx.Response:
        url = f"{self.base_url}/{path.lstrip('/')}"
        for attempt in (1, 2):
            try:
                response = self._client.post(url, **kwargs)
            except httpx.TimeoutException as error:
                raise APIError(f"{self.name}: no answer in time ({error!r})") from error
            except httpx.TransportError as error:
                if attempt == 1:
                    logger.warning("%s: %r; trying once more", self.name, error)
                    time.sleep(RETRY_PAUSE)
                    continue
                message = f"{self.name}: cannot reach {self.base_url}: {error}"
                raise APIError(message) from error
            status = response.status_code
            if status in RETRY_STATUSES and attempt == 1:
                logger.warning("%s answered HTTP %s; trying once more", self.name, status)
                time.sleep(RETRY_PAUSE)
                continue
            if response.is_error:
                raise APIError(f"{self.name}: HTTP {status}: {api_error_message(response)}")
            return response
        raise AssertionError("unreachable")

    def post_json(self, path: str, payload: dict) -> dict:
        response = self.post(path, json=payload)
        try:
            body = response.json()
        except ValueError as error:
            raise APIError(f"{self.name}: the answer is not JSON") from error
        if not isinstance(body, dict):
            raise APIError(f"{self.name}: the answer is not a JSON object")
        return body

    def close(self) -> None:
        self._client.close()
