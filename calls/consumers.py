"""The staff's live calls monitor over a websocket: a snapshot of the calls in progress, then
every change the AudioSocket processes publish (calls.live).

With the in-memory channel layer (the embedded default, no REDIS_URL) events cannot travel from
the AudioSocket process to Daphne, so the consumer also polls the database about once a second
and sends what changed in the same format; the browser de-duplicates turns by (call, sequence).

Permission is not only checked at the handshake: a socket outlives the session that opened it.
The consumer checks again every `recheck_interval` seconds, and before sending anything when
its last verdict is older than that, and closes with 4403 once the session is gone (logout,
deleted sessions) or the user is no longer active staff with the permission.
"""

import asyncio
import logging
from datetime import datetime, timedelta
from importlib import import_module

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from .live import CALL_KEYS, GROUP, TURN_KEYS, call_payload, turn_payload
from .models import Call, CallStatus, Turn

logger = logging.getLogger(__name__)

PERMISSION = "calls.view_live_calls"
NOT_PERMITTED = 4403  # the websocket close code for "log in as staff with the permission"
LIVE_WINDOW = timedelta(hours=12)  # an in-progress call older than this is a stale row
RECENT_WINDOW = timedelta(minutes=5)  # ended calls the snapshot still lists
# Turns are written in batches after they are spoken; look back this far for late ones.
POLL_OVERLAP = timedelta(seconds=10)


def staff_with_permission(user, permission: str) -> bool:
    """Whether a websocket's user is active staff holding `permission` (superusers hold all)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(permission)
    )


def may_watch(user) -> bool:
    return staff_with_permission(user, PERMISSION)


def still_may_watch(session_key: str | None, user_id: int) -> bool:
    """Whether the user who opened the socket still may watch, read afresh from the database.

    With a session (the browser's case) the session must still exist and still belong to that
    user (get_user also drops it after a password change); a socket opened without one (a
    consumer used directly) re-reads the user alone.
    """
    if session_key:
        request = HttpRequest()
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = get_user(request)
        return user.pk == user_id and may_watch(user)
    return may_watch(get_user_model().objects.filter(pk=user_id).first())


def read_snapshot() -> dict:
    now = timezone.now()
    live = list(
        Call.objects.filter(status=CallStatus.IN_PROGRESS, started_at__gte=now - LIVE_WINDOW)
        .order_by("started_at")
        .values("id", *CALL_KEYS)
    )
    turns: dict[int, list[dict]] = {}
    rows = Turn.objects.filter(call_id__in=[c["id"] for c in live]).order_by("call_id", "sequence")
    for row in rows.values("call_id", *TURN_KEYS):
        turns.setdefault(row["call_id"], []).append(row)
    recent = (
        Call.objects.filter(status=CallStatus.ENDED, ended_at__gte=now - RECENT_WINDOW)
        .order_by("-ended_at")
        .values(*CALL_KEYS)[:20]
    )
    return {
        "kind": "snapshot",
        "calls": [
            {
                **call_payload(call),
                "turns": [turn_payload(call["uuid"], t) for t in turns.get(call["id"], [])],
            }
            for call in live
        ],
        "recent": [call_payload(call) for call in recent],
    }


def read_changes(tracked: list[str], since: datetime) -> tuple[list[dict], list[dict]]:
    """Calls in progress (and the tracked ones, to see them end) and their turns since `since`."""
    calls = list(
        Call.objects.filter(
            Q(status=CallStatus.IN_PROGRESS, started_at__gte=timezone.now() - LIVE_WINDOW)
            | Q(uuid__in=tracked)
        )
        .order_by("started_at")
        .values("id", *CALL_KEYS)
    )
    uuids = {call["id"]: call["uuid"] for call in calls}
    turns = Turn.objects.filter(call_id__in=list(uuids), created_at__gte=since).order_by(
        "call_id", "sequence"
    )
    return (
        [call_payload(call) for call in calls],
        [turn_payload(uuids[t["call_id"]], t) for t in turns.values("call_id", *TURN_KEYS)],
    )


def read_caller_number(call_uuid: str) -> str | None:
    return Call.objects.filter(uuid=call_uuid).values_list("caller_number", flat=True).first()


class LiveCallsConsumer(AsyncJsonWebsocketConsumer):
    poll_interval: float | None = 1.0  # seconds; polling happens only on the in-memory layer
    # Seconds a "still may watch" verdict is good for: the watchdog asks again this often, and
    # an event finding an older verdict asks before it is sent.
    recheck_interval: float = 5.0
    watch_interval: float | None = None  # the watchdog's period; None: recheck_interval

    async def connect(self) -> None:
        self._poller: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self._revoked = False
        self._numbers: dict[str, str] = {}
        self._seen_calls: dict[str, dict] = {}
        self._sent_turns: set[tuple[str, int]] = set()
        if not await database_sync_to_async(may_watch)(self.scope.get("user")):
            # Accept first so the browser sees the code (a refused handshake carries none).
            await self.accept()
            await self.close(code=NOT_PERMITTED)
            return
        if self.channel_layer is not None:
            # Join before reading the snapshot: nothing said in between is missed.
            await self.channel_layer.group_add(GROUP, self.channel_name)
            self.groups = [GROUP]  # an instance attribute: websocket_disconnect leaves it
        await self.accept()
        user, session = self.scope["user"], self.scope.get("session")
        self._user_id = user.pk
        self._session_key = getattr(session, "session_key", None) if session else None
        self._checked_at = asyncio.get_running_loop().time()
        self._watchdog = asyncio.create_task(self._watch())
        polls = self._polls_database()
        started = timezone.now()
        snapshot = await database_sync_to_async(read_snapshot)()
        await self.send_json(snapshot)
        if polls:
            for call in snapshot["calls"]:
                self._remember(call)
                self._sent_turns.update((call["uuid"], t["sequence"]) for t in call["turns"])
            self._poller = asyncio.create_task(self._poll(started))

    async def disconnect(self, code) -> None:
        for task in (self._poller, self._watchdog):
            if task is not None and task is not asyncio.current_task():
                task.cancel()

    # --- Who may still watch -------------------------------------------------------------------

    async def _still_permitted(self) -> bool:
        """False (and the socket closed) once the session or the permission is gone."""
        if self._revoked:
            return False
        loop = asyncio.get_running_loop()
        if loop.time() - self._checked_at < self.recheck_interval:
            return True
        if await database_sync_to_async(still_may_watch)(self._session_key, self._user_id):
            self._checked_at = loop.time()
            return True
        await self._revoke()
        return False

    async def _revoke(self) -> None:
        self._revoked = True
        logger.info("live calls monitor: user %s logged out or lost access", self._user_id)
        if self.channel_layer is not None and self.groups:
            await self.channel_layer.group_discard(GROUP, self.channel_name)
            self.groups = []
        await self.disconnect(NOT_PERMITTED)
        await self.close(code=NOT_PERMITTED)

    async def _watch(self) -> None:
        # A quiet socket (no calls) still closes soon after its user logs out.
        period = self.watch_interval or self.recheck_interval
        while not self._revoked:
            await asyncio.sleep(period)
            self._checked_at = float("-inf")  # ask the database, whatever the last verdict
            try:
                await self._still_permitted()
            except Exception:
                logger.exception("live calls monitor: checking the user failed")

    async def receive_json(self, content, **kwargs) -> None:
        """The monitor only listens."""

    async def call_event(self, message: dict) -> None:
        if not await self._still_permitted():
            return
        event = message["event"]
        if event.get("kind") == "call" and not event.get("caller_number"):
            # AudioSocket carries no number: the dialplan stored it on the call's row.
            event = {**event, "caller_number": await self._caller_number(event["uuid"])}
        await self.send_json(event)

    async def _caller_number(self, call_uuid: str) -> str:
        if call_uuid not in self._numbers:
            number = await database_sync_to_async(read_caller_number)(call_uuid)
            if number is None:
                return ""  # no row yet: ask again on the call's next event
            self._numbers[call_uuid] = number
        return self._numbers[call_uuid]

    # --- The embedded default's fallback: poll the database ------------------------------------

    def _polls_database(self) -> bool:
        return bool(self.poll_interval) and (
            self.channel_layer is None or isinstance(self.channel_layer, InMemoryChannelLayer)
        )

    def _remember(self, call: dict) -> bool:
        """True when the call is new or changed since it was last sent."""
        state = {key: call[key] for key in ("caller_number", "status", "outcome", "ended_at")}
        if self._seen_calls.get(call["uuid"]) == state:
            return False
        self._seen_calls[call["uuid"]] = state
        return True

    async def _poll(self, since: datetime) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            polled_at = timezone.now()
            tracked = [u for u, s in self._seen_calls.items() if s["status"] != CallStatus.ENDED]
            try:
                if not await self._still_permitted():
                    return
                calls, turns = await database_sync_to_async(read_changes)(
                    tracked, since - POLL_OVERLAP
                )
            except Exception:
                logger.exception("live calls monitor: polling the database failed")
                continue
            since = polled_at
            for call in calls:
                if self._remember(call):
                    await self.send_json(call)
            for turn in turns:
                key = (turn["call"], turn["sequence"])
                if key not in self._sent_turns:
                    self._sent_turns.add(key)
                    await self.send_json(turn)
            self._forget_ended()

    def _forget_ended(self) -> None:
        ended = {u for u, s in self._seen_calls.items() if s["status"] == CallStatus.ENDED}
        if len(ended) > 200:
            for call_uuid in ended:
                del self._seen_calls[call_uuid]
            self._sent_turns = {k for k in self._sent_turns if k[0] not in ended}
