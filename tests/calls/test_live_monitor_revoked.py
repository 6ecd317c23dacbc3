"""A live monitor socket outlives the handshake: it closes once its user logs out, loses the
permission or is deactivated with their sessions deleted, and sends nothing after that."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.test import Client

from callcenter.asgi import application
from calls.consumers import NOT_PERMITTED, LiveCallsConsumer
from calls.live import GROUP
from tests.factories import make_call, make_turn

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def _operator():
    user = get_user_model().objects.create_user(
        username=f"operator-{uuid.uuid4().hex[:8]}", password="pw", is_staff=True
    )
    user.user_permissions.add(Permission.objects.get(codename="view_live_calls"))
    return user


@pytest.fixture
def quiet(monkeypatch):
    """No database polling: only what the test pushes reaches the socket."""
    monkeypatch.setattr(LiveCallsConsumer, "poll_interval", None)


async def _watching(browser: Client, user) -> WebsocketCommunicator:
    """The user's browser session with the monitor open and its snapshot read."""
    await sync_to_async(browser.force_login)(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    socket = WebsocketCommunicator(
        application, "/ws/live-calls/", headers=[*ORIGIN, (b"cookie", cookie)]
    )
    assert (await socket.connect(timeout=10))[0]
    assert (await socket.receive_json_from(timeout=10))["kind"] == "snapshot"
    return socket


async def _push(text: str) -> None:
    event = {"kind": "turn", "call": str(uuid.uuid4()), "sequence": 0, "text": text}
    await get_channel_layer().group_send(GROUP, {"type": "call.event", "event": event})


async def _closed_without_more(socket: WebsocketCommunicator, timeout: float = 20) -> None:
    """The next thing on the socket is its close with 4403: nothing else was sent first."""
    output = await socket.receive_output(timeout=timeout)
    assert output == {"type": "websocket.close", "code": NOT_PERMITTED}, output
    await socket.wait()


def _deactivate_and_delete_sessions(user) -> None:
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    Session.objects.all().delete()


def _take_the_permission(user) -> None:
    user.user_permissions.remove(Permission.objects.get(codename="view_live_calls"))


async def test_an_event_after_logout_is_not_sent_and_the_socket_closes(quiet, monkeypatch):
    # Every event asks the database first; the watchdog stays out of the way.
    monkeypatch.setattr(LiveCallsConsumer, "recheck_interval", 0)
    monkeypatch.setattr(LiveCallsConsumer, "watch_interval", 3600)
    browser = Client()
    socket = await _watching(browser, await database_sync_to_async(_operator)())
    await _push("before logout")
    assert (await socket.receive_json_from(timeout=10))["text"] == "before logout"
    await sync_to_async(browser.logout)()
    await _push("Olena Kovalenko, +380671234567")
    await _closed_without_more(socket)


@pytest.mark.parametrize(
    "revoke", [_deactivate_and_delete_sessions, _take_the_permission], ids=["deactivated", "perm"]
)
async def test_a_quiet_socket_closes_soon_after_its_user_loses_access(quiet, monkeypatch, revoke):
    """The review's finding: a deactivated staff member whose sessions were deleted kept
    receiving live transcripts on the socket already open."""
    monkeypatch.setattr(LiveCallsConsumer, "recheck_interval", 0.3)
    user = await database_sync_to_async(_operator)()
    socket = await _watching(Client(), user)
    await database_sync_to_async(revoke)(user)
    await _closed_without_more(socket)


async def test_a_socket_whose_user_keeps_access_stays_open(quiet, monkeypatch):
    monkeypatch.setattr(LiveCallsConsumer, "recheck_interval", 0.1)
    socket = await _watching(Client(), await database_sync_to_async(_operator)())
    assert await socket.receive_nothing(timeout=1.0), "several re-checks passed quietly"
    await _push("still here")
    assert (await socket.receive_json_from(timeout=10))["text"] == "still here"
    await socket.disconnect()


async def test_the_database_polling_fallback_stops_after_logout(monkeypatch):
    if not isinstance(get_channel_layer(), InMemoryChannelLayer):
        pytest.skip("polling is the in-memory layer's fallback (REDIS_URL is set)")
    monkeypatch.setattr(LiveCallsConsumer, "poll_interval", 0.1)
    monkeypatch.setattr(LiveCallsConsumer, "recheck_interval", 0)
    monkeypatch.setattr(LiveCallsConsumer, "watch_interval", 3600)
    browser = Client()
    socket = await _watching(browser, await database_sync_to_async(_operator)())
    await sync_to_async(browser.logout)()
    call = await database_sync_to_async(make_call)(caller_number="+380671234567")
    await database_sync_to_async(make_turn)(call, text="Olena Kovalenko")
    await _closed_without_more(socket)
