"""Ends the calls nobody serves any more: those of a server process that died (SIGKILL, a lost
host) and those the dialplan announced that never connected. Run at a server's start-up, by
each server's own timer and by Celery beat; each call is ended once, by whoever gets there
first (a conditional update)."""

import asyncio
import logging
import os
import secrets
import socket
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from .models import Call, CallOutcome, CallStatus, Turn

logger = logging.getLogger(__name__)

SERVER_STOPPED = "server stopped"
NEVER_CONNECTED = "never connected: the dialplan announced the call, no audio came"

_instance: tuple[int, str] | None = None


def process_instance() -> str:
    """This process's name on its calls, `host:pid:random` (new after a fork or a restart, so a
    process that took over a dead one's pid is still told apart)."""
    global _instance
    if _instance is None or _instance[0] != os.getpid():
        host = socket.gethostname()[:40].replace(":", "-")
        _instance = (os.getpid(), f"{host}:{os.getpid()}:{secrets.token_hex(4)}")
    return _instance[1]


def end_orphaned_calls(*, stale_after: timedelta, at_start_up: bool = False) -> int:
    """End calls in progress with no heartbeat for `stale_after`, and announced calls older
    than that; at start-up, also the calls of this host's processes that are gone. Returns how
    many calls were ended."""
    now = timezone.now()
    cutoff = now - stale_after
    live = Call.objects.filter(status=CallStatus.IN_PROGRESS)
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    orphans = set(live.filter(silent).values_list("pk", flat=True))
    if at_start_up:
        orphans |= _calls_of_dead_processes_here(live)
    ended = _end(orphans, SERVER_STOPPED, from_status=CallStatus.IN_PROGRESS)
    announced = Call.objects.filter(status=CallStatus.ANNOUNCED, started_at__lt=cutoff)
    ended += _end(
        set(announced.values_list("pk", flat=True)), NEVER_CONNECTED, CallStatus.ANNOUNCED
    )
    if ended:
        logger.warning("ended %d calls of stopped servers or that never connected", ended)
    return ended


def _calls_of_dead_processes_here(live) -> set[int]:
    me = process_instance()
    host, pid, _ = me.split(":")
    found = set()
    rows = live.filter(instance__startswith=f"{host}:").exclude(instance=me)
    for pk, instance in rows.values_list("pk", "instance"):
        try:
            other_pid = int(instance.split(":")[1])
        except (IndexError, ValueError):
            continue
        if other_pid == int(pid) or not _alive(other_pid):
            found.add(pk)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _end(pks: set[int], reason: str, from_status: str) -> int:
    if not pks:
        return 0
    last_turns = dict(
        Turn.objects.filter(call_id__in=pks)
        .values("call_id")
        .annotate(last=Max("created_at"))
        .values_list("call_id", "last")
    )
    ended = 0
    rows = Call.objects.filter(pk__in=pks).values_list(
        "pk", "started_at", "heartbeat_at", "outcome"
    )
    for pk, started_at, heartbeat_at, outcome in rows:
        # Ended at its last sign of life, so that its duration stays true; an outcome already
        # stored (an order placed just before the process died) is kept.
        signs = [t for t in (started_at, heartbeat_at, last_turns.get(pk)) if t is not None]
        ended += Call.objects.filter(pk=pk, status=from_status).update(
            status=CallStatus.ENDED,
            outcome=outcome or CallOutcome.FAILED,
            end_reason=reason,
            ended_at=max(signs),
        )
    return ended


async def end_orphaned_calls_now_and_then() -> None:
    """A server's own timer: at start-up the calls a dead process of this host left in
    progress, then every CALL_RECONCILE_INTERVAL s any process's calls whose heartbeat
    stopped for CALL_STALE_AFTER s."""
    stale_after = timedelta(seconds=settings.CALL_STALE_AFTER)
    interval = settings.CALL_RECONCILE_INTERVAL
    at_start_up = True
    while True:
        try:
            await database_sync_to_async(end_orphaned_calls)(
                stale_after=stale_after, at_start_up=at_start_up
            )
            at_start_up = False
        except Exception as error:
            logger.warning("could not end the calls of stopped servers yet (%r)", error)
        await asyncio.sleep(interval)
