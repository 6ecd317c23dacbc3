"""Fixtures of the test-call socket's tests: sockets through the whole ASGI stack (origin check,
session auth, routing) as the admin's page opens them, and the staff who open them."""

import asyncio
import json
import uuid
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from callcenter.asgi import application
from catalog.models import Season
from tests.factories import make_brand, make_tire
from tests.helpers.web_process import start_daphne

PATH = "/ws/test-call/"
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def make_user(*, staff: bool = True, permitted: bool = True):
    user = get_user_model().objects.create_user(
        username=f"tester-{uuid.uuid4().hex[:8]}", password="pw", is_staff=staff
    )
    if permitted:
        user.user_permissions.add(Permission.objects.get(codename="place_test_call"))
    return user


def session_cookie(user) -> str:
    """The Cookie header of a browser where `user` is logged in."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def web():
    """A real Daphne serving the project, on the test database."""
    process = start_daphne()
    yield process
    process.stop()


async def open_socket(user=None) -> WebsocketCommunicator:
    headers = list(ORIGIN)
    if user is not None:
        headers.append((b"cookie", (await sync_to_async(session_cookie)(user)).encode()))
    return WebsocketCommunicator(application, PATH, headers=headers)


class Page:
    """The page's side of one test call: what it sent and every message it got back."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.socket = communicator
        self.events: list[dict] = []
        self.audio: list[bytes] = []
        self.closed: dict | None = None

    async def send(self, **message) -> None:
        await self.socket.send_to(text_data=json.dumps(message))

    async def receive(self, timeout: float = 30) -> dict | bytes | None:
        """The next message (JSON decoded, or audio bytes); None once the socket closed."""
        output = await self.socket.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            self.closed = output
            return None
        if output.get("bytes") is not None:
            self.audio.append(output["bytes"])
            return output["bytes"]
        event = json.loads(output["text"])
        self.events.append(event)
        return event

    async def until(self, predicate, timeout: float = 60) -> dict:
        """Messages until a JSON event that matches `predicate` (audio is kept on the way)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.receive(timeout=max(0.1, deadline - loop.time()))
            assert message is not None, f"closed before the event came: {self.events[-5:]}"
            if isinstance(message, dict) and predicate(message):
                return message

    def of_type(self, kind: str) -> list[dict]:
        return [event for event in self.events if event["type"] == kind]


@pytest.fixture
def shop(settings):
    """An English-speaking shop with winter tires in 205/55 R16 and a staff e-mail to notify."""
    settings.CALL_LANGUAGE, settings.CALL_LANGUAGES = "en", ["en"]
    settings.NOTIFY_STAFF_EMAILS = ["shop@example.com"]
    return make_tire(
        brand=make_brand(name="Dunlop"), model="Winter Sport 5", season=Season.WINTER,
        price=Decimal("3100"), stock_quantity=12, sku="DUN-WS5-16",
    )  # fmt: skip


class Microphone:
    """The page's microphone: 20 ms frames at real-time pace, silence unless speech is queued."""

    def __init__(self, page: Page, rate: int) -> None:
        self.page, self.rate = page, rate
        self.frame = rate // 50 * 2
        self._speech = bytearray()
        self._task: asyncio.Task | None = None
        self.spoken = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def say(self, pcm: bytes) -> None:
        self.spoken.clear()
        self._speech += pcm

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            chunk = bytes(self._speech[: self.frame])
            del self._speech[: self.frame]
            if not self._speech:
                self.spoken.set()
            chunk += bytes(self.frame - len(chunk))
            await self.page.socket.send_to(bytes_data=chunk)
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
