"""HTTP for the cloud and self-hosted engines (speech, LLM): one pooled client each, a time-out,
one retry where it is safe and quick, and errors that say what the API answered.

A caller is waiting on every request, so a request that timed out reading is not repeated: the
caller would wait twice. A refused connection or a 429/5xx answer is tried once more.
"""

import logging
import time

import httpx

logger = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
RETRY_PAUSE = 0.2  # seconds before the one retry


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

    def __init__(self, name: str, base_url: str, headers: dict[str, str], timeout: float) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        )

    def post(self, path: str, **kwargs) -> httpx.Response:
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
