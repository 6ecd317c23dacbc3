"""The live calls monitor: who may watch, the snapshot, events from the recorder to the socket,
the embedded default's database polling, the admin page, and a publisher that never gets in the
way of a call."""

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from callcenter.asgi import application
from calls.consumers import NOT_PERMITTED, LiveCallsConsumer
from calls.live import GROUP, LivePublisher
from calls.models import CallOutcome, CallStatus, TurnRole
from calls.recorder import Recorder
from tests.factories import make_call, make_staff_user, make_turn

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/live-calls/"
ORIGIN = [(b"origin", b"http://localhost"), (b"host", b"localhost")]


def make_user(*, staff: bool = True, permitted: bool = True, **fields):
    user = get_user_model().objects.create_user(
        username=f"user-{uuid.uuid4().hex[:8]}", password="pw", is_staff=staff, **fields
    )
    if permitted:
        user.user_permissions.add(Permission.objects.get(codename="view_live_calls"))
    return user


async def _socket(user=None) -> WebsocketCommunicator:
    """A socket through the whole ASGI stack (origin check, session auth, routing)."""
    headers = list(ORIGIN)
    if user is not None:
        client = Client()
        await sync_to_async(client.force_login)(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, PATH, headers=headers)


async def _refused(communicator: WebsocketCommunicator) -> None:
    connected, _ = await communicator.connect(timeout=10)
    assert connected, "accepted first, so that the browser gets the close code"
    closed = await communicator.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": NOT_PERMITTED}
    await communicator.wait()


async def _receive_until(communicator, predicate, timeout: float = 10) -> dict:
    """The first message matching `predicate` (a shared Redis may carry other tests' calls)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await communicator.receive_json_from(timeout=max(0.1, deadline - loop.time()))
        if predicate(message):
            return message


# --- Who may watch -----------------------------------------------------------------------------


async def test_an_anonymous_visitor_is_refused():
    await _refused(await _socket())


async def test_a_user_who_is_not_staff_is_refused():
    user = await database_sync_to_async(make_user)(staff=False)
    await _refused(await _socket(user))


async def test_staff_without_the_permission_is_refused():
    user = await database_sync_to_async(make_user)(permitted=False)
    await _refused(await _socket(user))


async def test_an_inactive_staff_member_is_refused():
    communicator = WebsocketCommunicator(LiveCallsConsumer.as_asgi(), PATH)
    communicator.scope["user"] = await database_sync_to_async(make_user)(is_active=False)
    await _refused(communicator)


# --- The snapshot ------------------------------------------------------------------------------


def _calls_on_the_line():
    live = make_call(caller_number="+380671234567", language="uk")
    make_turn(live, role=TurnRole.BOT, text="Добрий день! Чим можу допомогти?")
    make_turn(live, role=TurnRole.CALLER, text="Зимові шини 205/55 R16", interrupted=True)
    ended = make_call(
        status=CallStatus.ENDED, outcome=CallOutcome.ORDER_PLACED, ended_at=timezone.now()
    )
    stale = make_call(started_at=timezone.now() - timedelta(hours=13))
    return live, ended, stale


async def test_a_permitted_staff_member_gets_the_calls_in_progress_with_their_turns():
    live, ended, _stale = await database_sync_to_async(_calls_on_the_line)()
    user = await database_sync_to_async(make_user)()
    communicator = await _socket(user)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=10)
    await communicator.disconnect()

    assert snapshot["kind"] == "snapshot"
    assert [c["uuid"] for c in snapshot["calls"]] == [str(live.uuid)], "not the stale row"
    call = snapshot["calls"][0]
    assert call["caller_number"] == "+380671234567"
    assert call["status"] == "in_progress" and call["language"] == "uk"
    assert call["started_at"] == live.started_at.isoformat()
    assert [(t["sequence"], t["role"], t["text"], t["interrupted"]) for t in call["turns"]] == [
        (0, "bot", "Добрий день! Чим можу допомогти?", False),
        (1, "caller", "Зимові шини 205/55 R16", True),
    ]
    assert call["turns"][1]["start_ms"] == 3000 and call["turns"][1]["call"] == str(live.uuid)
    assert [(c["uuid"], c["outcome"]) for c in snapshot["recent"]] == [
        (str(ended.uuid), "order_placed")
    ]


async def test_a_superuser_may_watch():
    communicator = WebsocketCommunicator(LiveCallsConsumer.as_asgi(), PATH)
    communicator.scope["user"] = await database_sync_to_async(make_staff_user)()
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    assert (await communicator.receive_json_from(timeout=10))["kind"] == "snapshot"
    await communicator.disconnect()


# --- Events ------------------------------------------------------------------------------------


async def test_what_the_recorder_hears_reaches_the_socket_through_the_channel_layer(monkeypatch):
    # Through the layer only: no polling, and the recorder's writer is not started, so nothing
    # reaches the database the consumer could read.
    monkeypatch.setattr(LiveCallsConsumer, "poll_interval", None)
    await database_sync_to_async(make_call)(
        uuid=(call_uuid := uuid.uuid4()), caller_number="+380501112233"
    )
    communicator = WebsocketCommunicator(LiveCallsConsumer.as_asgi(), PATH)
    communicator.scope["user"] = await database_sync_to_async(make_user)()
    assert (await communicator.connect(timeout=10))[0]
    await _receive_until(communicator, lambda m: m["kind"] == "snapshot")

    recorder = Recorder()
    recorder.live.start()
    mine = lambda m: m.get("uuid", m.get("call")) == str(call_uuid)  # noqa: E731
    started_at = timezone.now()
    recorder.call_started(
        call_uuid, started_at=started_at, language="en", status=CallStatus.IN_PROGRESS
    )
    started = await _receive_until(communicator, mine)
    assert started["kind"] == "call" and started["status"] == "in_progress"
    assert started["started_at"] == started_at.isoformat()
    assert started["caller_number"] == "+380501112233", "filled in from the dialplan's row"

    recorder.turn(
        call_uuid, sequence=0, role=TurnRole.BOT, text="How can I help you?", start_ms=40,
        end_ms=2000, total_ms=300,
    )  # fmt: skip
    turn = await _receive_until(communicator, mine)
    assert turn == {
        "kind": "turn", "call": str(call_uuid), "sequence": 0, "role": "bot", "via": "voice",
        "text": "How can I help you?", "interrupted": False, "start_ms": 40,
    }  # fmt: skip

    recorder.call_ended(
        call_uuid, status=CallStatus.ENDED, outcome=CallOutcome.ABANDONED, ended_at=timezone.now()
    )
    ended = await _receive_until(communicator, mine)
    assert (ended["status"], ended["outcome"]) == ("ended", "abandoned")
    await recorder.live.close()
    assert recorder.live.sent == 3 and recorder.live.pending == 0
    await communicator.disconnect()


async def test_on_the_in_memory_layer_the_consumer_polls_the_database():
    # The embedded default: the AudioSocket process's events never reach Daphne's memory.
    if not isinstance(get_channel_layer(), InMemoryChannelLayer):
        pytest.skip("polling is the in-memory layer's fallback (REDIS_URL is set)")
    communicator = WebsocketCommunicator(LiveCallsConsumer.as_asgi(), PATH)
    communicator.scope["user"] = await database_sync_to_async(make_user)()
    assert (await communicator.connect(timeout=10))[0]
    await _receive_until(communicator, lambda m: m["kind"] == "snapshot")

    call = await database_sync_to_async(make_call)(caller_number="+380931234567")
    await database_sync_to_async(make_turn)(call, role=TurnRole.CALLER, text="Winter tires")
    seen = await _receive_until(communicator, lambda m: m["kind"] == "call")
    assert (seen["uuid"], seen["caller_number"]) == (str(call.uuid), "+380931234567")
    turn = await _receive_until(communicator, lambda m: m["kind"] == "turn")
    assert (turn["call"], turn["sequence"], turn["text"]) == (str(call.uuid), 0, "Winter tires")

    call.status, call.outcome, call.ended_at = CallStatus.ENDED, "info_given", timezone.now()
    await database_sync_to_async(call.save)()
    ended = await _receive_until(communicator, lambda m: m["kind"] == "call")
    assert (ended["status"], ended["outcome"]) == ("ended", "info_given")
    # Nothing is sent twice: the next polls find no change.
    assert await communicator.receive_nothing(timeout=2.5)
    await communicator.disconnect()


# --- The page ----------------------------------------------------------------------------------


def test_the_page_is_shown_to_permitted_staff(client):
    client.force_login(make_user())
    response = client.get(reverse("live-calls"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "calls/live_calls.js" in html and 'id="live-status"' in html
    assert "Live calls" in html and 'class="breadcrumbs"' in html


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/admin/live-calls/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/admin/live-calls/")


def test_staff_without_the_permission_are_forbidden_the_page(client):
    client.force_login(make_user(permitted=False))
    assert client.get("/admin/live-calls/").status_code == 403


def test_the_script_is_served_as_a_static_file(client):
    # WhiteNoise serves it in development; the browser test fetches it through Daphne.
    response = client.get("/static/calls/live_calls.js")
    assert response.status_code == 200


# --- The publisher never gets in a call's way --------------------------------------------------


def test_a_full_queue_drops_the_oldest_events_and_counts_them():
    publisher = LivePublisher(maxsize=3, layer=object())
    for n in range(5):
        publisher.publish({"kind": "turn", "sequence": n})
    assert publisher.dropped == 2 and publisher.pending == 3
    assert [e["sequence"] for e in publisher._queue] == [2, 3, 4]


class _BrokenLayer:
    def __init__(self) -> None:
        self.attempts = 0
        self.sent: list[dict] = []
        self.broken = True

    async def group_send(self, group: str, message: dict) -> None:
        self.attempts += 1
        if self.broken:
            raise ConnectionError("Redis is away")
        self.sent.append(message)


async def test_a_channel_layer_outage_is_logged_once_and_never_raises(caplog):
    layer = _BrokenLayer()
    publisher = LivePublisher(layer=layer, max_retry_delay=0.05)
    recorder = Recorder(live=publisher)
    publisher.start()
    call_uuid = uuid.uuid4()
    with caplog.at_level(logging.WARNING, logger="calls.live"):
        recorder.call_started(call_uuid, started_at=timezone.now(), status="in_progress")
        for n in range(5):
            recorder.turn(call_uuid, sequence=n, role="caller", text="205/55", start_ms=n)
        for _ in range(200):
            if publisher.failed >= 6:
                break
            await asyncio.sleep(0.01)
        assert publisher.failed == 6 and publisher.pending == 0
        outage = [r for r in caplog.records if "cannot publish" in r.getMessage()]
        assert len(outage) == 1, "logged once, not per event"

        layer.broken = False
        recorder.call_ended(call_uuid, status="ended", outcome="abandoned")
        for _ in range(200):
            if layer.sent:
                break
            await asyncio.sleep(0.01)
    assert [m["type"] for m in layer.sent] == ["call.event"]
    assert layer.sent[0]["event"]["outcome"] == "abandoned"
    assert any("is back" in r.getMessage() for r in caplog.records)
    await publisher.close()


async def test_a_stuck_channel_layer_does_not_hold_up_closing():
    class StuckLayer:
        async def group_send(self, group, message):
            await asyncio.sleep(3600)

    publisher = LivePublisher(layer=StuckLayer(), send_timeout=0.1)
    publisher.start()
    publisher.publish({"kind": "call"})
    await asyncio.wait_for(publisher.close(timeout=0.5), timeout=2)


def test_events_go_to_the_monitors_group_as_a_valid_channels_type():
    from channels.layers import BaseChannelLayer

    assert GROUP == "live_calls"
    assert BaseChannelLayer().require_valid_group_name(GROUP)
