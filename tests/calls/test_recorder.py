"""The recorder writes calls and turns in batches, idempotently, and keeps them through outages."""

import uuid

import pytest
from django.db import connection
from django.utils import timezone

from calls import db_threads
from calls.models import Call, CallOutcome, CallStatus, Turn, TurnRole
from calls.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)


def _start(recorder: Recorder) -> uuid.UUID:
    call_uuid = uuid.uuid4()
    recorder.call_started(
        call_uuid, started_at=timezone.now(), language="uk", status=CallStatus.IN_PROGRESS
    )
    return call_uuid


def _turn(recorder: Recorder, call_uuid: uuid.UUID, sequence: int, text: str) -> None:
    recorder.turn(
        call_uuid,
        sequence=sequence,
        role=TurnRole.CALLER,
        text=text,
        start_ms=sequence * 1000,
        end_ms=sequence * 1000 + 800,
    )


async def test_a_call_and_its_turns_are_written_and_then_forgotten():
    recorder = Recorder()
    call_uuid = _start(recorder)
    _turn(recorder, call_uuid, 0, "205/55 R16")
    assert await recorder.flush()
    recorder.call_ended(
        call_uuid,
        status=CallStatus.ENDED,
        outcome=CallOutcome.ABANDONED,
        end_reason="caller hung up",
        ended_at=timezone.now(),
    )
    _turn(recorder, call_uuid, 1, "bye")
    assert await recorder.flush()
    call = await Call.objects.aget(uuid=call_uuid)
    assert (call.status, call.outcome, call.end_reason, call.language) == (
        "ended",
        "abandoned",
        "caller hung up",
        "uk",
    )
    texts = [t async for t in Turn.objects.filter(call=call).values_list("text", flat=True)]
    assert texts == ["205/55 R16", "bye"]
    assert recorder.pending == 0


async def test_writing_the_same_batch_twice_makes_no_duplicates():
    recorder = Recorder()
    call_uuid = _start(recorder)
    _turn(recorder, call_uuid, 0, "hello")
    assert await recorder.flush()
    # As after a lost acknowledgement: the same call and turn are sent again.
    recorder.call_updated(call_uuid, sample_rate=8000)
    _turn(recorder, call_uuid, 0, "hello")
    assert await recorder.flush()
    assert await Call.objects.filter(uuid=call_uuid).acount() == 1
    assert await Turn.objects.filter(call__uuid=call_uuid).acount() == 1
    assert (await Call.objects.aget(uuid=call_uuid)).sample_rate == 8000


async def test_when_the_database_is_away_everything_is_kept_and_written_later():
    recorder = Recorder()
    call_uuid = _start(recorder)
    _turn(recorder, call_uuid, 0, "four winter tires")

    real = await _database_settings()
    unreachable = {**real}
    if real["ENGINE"].endswith("sqlite3"):
        unreachable["NAME"] = "/nonexistent-directory/db.sqlite3"
    else:
        unreachable["PORT"] = "1"  # nothing listens there: a real refused connection
    await _point_database_at(unreachable)
    try:
        assert await recorder.flush() is False
        assert await recorder.flush() is False
        assert recorder.pending == 1
    finally:
        await _point_database_at(real)
    assert await recorder.close(timeout=5)
    assert await Turn.objects.filter(call__uuid=call_uuid, text="four winter tires").aexists()
    assert await Call.objects.filter(uuid=call_uuid).acount() == 1


# The recorder writes from its own database thread (calls/db_threads.py, channels' one thread on
# SQLite); that thread's connection is the one to break.
async def _database_settings() -> dict:
    return await db_threads.run("records", lambda: dict(connection.settings_dict))


async def _point_database_at(settings_dict: dict) -> None:
    def point() -> None:
        connection.close()
        connection.settings_dict = settings_dict

    await db_threads.run("records", point)
