"""Calls left "in progress" by a process that died are ended as failed, "server stopped", with
the turns that were written: at a server's start-up (a dead process on the same host) and
periodically (no heartbeat for CALL_STALE_AFTER). A call the dialplan announced (POST /caller)
that never connected is no live call, and is ended too once it is clearly not coming."""

import asyncio
import os
import subprocess
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from calls import reconcile
from calls.consumers import read_snapshot
from calls.models import Call, CallOutcome, CallStatus
from calls.recorder import Recorder
from calls.tasks import end_orphaned_calls
from tests.factories import make_call, make_turn

STALE = timedelta(minutes=3)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _live_call(instance: str, heartbeat_ago: timedelta) -> Call:
    now = timezone.now()
    return make_call(
        status=CallStatus.IN_PROGRESS,
        instance=instance,
        started_at=now - heartbeat_ago - timedelta(minutes=1),
        heartbeat_at=now - heartbeat_ago,
    )


@pytest.mark.django_db
def test_a_call_without_a_heartbeat_is_ended_with_its_turns_and_a_live_one_is_not():
    silent = _live_call("elsewhere:7:aaaa", heartbeat_ago=timedelta(minutes=10))
    turn = make_turn(silent)
    alive = _live_call("elsewhere:8:bbbb", heartbeat_ago=timedelta(seconds=20))

    assert reconcile.end_orphaned_calls(stale_after=STALE) == 1

    silent.refresh_from_db()
    assert (silent.status, silent.outcome, silent.end_reason) == (
        CallStatus.ENDED,
        CallOutcome.FAILED,
        "server stopped",
    )
    # Ended at its last sign of life, not now: the duration stays true.
    assert silent.ended_at == max(silent.heartbeat_at, turn.created_at)
    assert silent.turns.count() == 1
    alive.refresh_from_db()
    assert alive.status == CallStatus.IN_PROGRESS


@pytest.mark.django_db
def test_at_start_up_the_calls_of_a_dead_process_on_this_host_are_ended_at_once():
    host = reconcile.process_instance().split(":")[0]
    dead = _live_call(f"{host}:{_dead_pid()}:cccc", heartbeat_ago=timedelta(seconds=5))
    sibling = _live_call(f"{host}:{os.getppid()}:dddd", timedelta(seconds=5))

    assert reconcile.end_orphaned_calls(stale_after=STALE) == 0  # the periodic rule waits
    assert reconcile.end_orphaned_calls(stale_after=STALE, at_start_up=True) == 1

    dead.refresh_from_db()
    sibling.refresh_from_db()
    assert (dead.status, dead.end_reason) == (CallStatus.ENDED, "server stopped")
    assert sibling.status == CallStatus.IN_PROGRESS  # another worker of this host, alive


@pytest.mark.django_db
def test_the_celery_task_runs_the_same_sweep():
    silent = _live_call("elsewhere:9:eeee", heartbeat_ago=timedelta(hours=12))
    assert end_orphaned_calls.delay().get() == 1
    silent.refresh_from_db()
    assert silent.outcome == CallOutcome.FAILED


@pytest.mark.django_db
def test_a_call_announced_by_the_dialplan_is_not_live_and_is_ended_if_it_never_connects(client):
    never, late = uuid.uuid4(), uuid.uuid4()
    for call_uuid in (never, late):
        assert (
            client.post(f"/calls/{call_uuid}/caller", {"number": "0671234567"}).status_code == 200
        )
    assert Call.objects.get(uuid=never).status == CallStatus.ANNOUNCED
    assert read_snapshot()["calls"] == []  # not on the live monitor
    Call.objects.filter(uuid=never).update(started_at=timezone.now() - timedelta(minutes=10))

    assert reconcile.end_orphaned_calls(stale_after=STALE) == 1

    call = Call.objects.get(uuid=never)
    assert (call.status, call.outcome) == (CallStatus.ENDED, CallOutcome.FAILED)
    assert call.end_reason.startswith("never connected")
    assert Call.objects.get(uuid=late).status == CallStatus.ANNOUNCED


@pytest.mark.django_db(transaction=True)
async def test_an_announced_call_that_connects_is_in_progress_with_its_number():
    call = await Call.objects.acreate(
        uuid=uuid.uuid4(), status=CallStatus.ANNOUNCED, caller_number="+380671234567"
    )
    recorder = Recorder(instance="here:1:ffff")
    recorder.call_started(call.uuid, started_at=timezone.now(), status=CallStatus.IN_PROGRESS)
    assert await recorder.flush()
    call = await Call.objects.aget(uuid=call.uuid)
    assert (call.status, call.caller_number, call.instance) == (
        CallStatus.IN_PROGRESS,
        "+380671234567",
        "here:1:ffff",
    )


@pytest.mark.django_db(transaction=True)
async def test_the_recorder_keeps_the_heartbeat_of_its_live_calls():
    recorder = Recorder(heartbeat_interval=0.2)
    recorder.start()
    try:
        call_uuid = uuid.uuid4()
        recorder.call_started(call_uuid, started_at=timezone.now(), status="in_progress")
        await asyncio.sleep(0.5)
        first = (await Call.objects.aget(uuid=call_uuid)).heartbeat_at
        await asyncio.sleep(1.0)
        later = (await Call.objects.aget(uuid=call_uuid)).heartbeat_at
    finally:
        await recorder.close()
    assert first is not None and later > first
