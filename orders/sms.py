"""SMS gateways: one interface, chosen by SMS_BACKEND (an import path), built once per process.

The console backend logs each message with its number and words masked (personal data); the
HTTP backend posts JSON to a gateway; a shop's own gateway is a subclass of SMSBackend.
"""

import logging
from functools import cache

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from callcenter.log_filters import mask_phone_numbers, mask_words

logger = logging.getLogger(__name__)


class SMSError(Exception):
    """The gateway did not take the message; the notification is retried later."""


class SMSBackend:
    def send(self, to: str, text: str) -> None:
        """Hand one message for `to` (E.164) to the gateway, or raise SMSError (or OSError)."""
        raise NotImplementedError


class ConsoleSMSBackend(SMSBackend):
    """For a first run and development: the message goes to the log, nothing is sent. A staff
    message carries the customer's name and phone, so the log gets its shape with every word
    masked; LocmemSMSBackend keeps the full text for tests."""

    def send(self, to: str, text: str) -> None:
        logger.info(
            "SMS to %s (not sent: console backend): %s", mask_phone_numbers(to), mask_words(text)
        )


class LocmemSMSBackend(SMSBackend):
    """Keeps messages in memory (`outbox`), like Django's locmem mail backend."""

    outbox: list[tuple[str, str]] = []

    def send(self, to: str, text: str) -> None:
        LocmemSMSBackend.outbox.append((to, text))


class HTTPSMSBackend(SMSBackend):
    """A gateway that takes `POST SMS_GATEWAY_URL` with JSON `{"to": ..., "text": ...}` and a
    bearer token; any 2xx answer means accepted."""

    def __init__(self) -> None:
        if not settings.SMS_GATEWAY_URL:
            raise SMSError("SMS_GATEWAY_URL is not set")
        headers = {"Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"}
        self.client = httpx.Client(timeout=settings.NOTIFY_TIMEOUT, headers=headers)

    def send(self, to: str, text: str) -> None:
        try:
            response = self.client.post(settings.SMS_GATEWAY_URL, json={"to": to, "text": text})
        except httpx.HTTPError as error:
            raise SMSError(f"SMS gateway unreachable: {error}") from error
        if not response.is_success:
            raise SMSError(f"SMS gateway answered HTTP {response.status_code}")


@cache
def sms_backend() -> SMSBackend:
    return import_string(settings.SMS_BACKEND)()
