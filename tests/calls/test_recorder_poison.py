"""A record the database refuses (here a turn with a negative offset, which breaks the turn's
CHECK) is quarantined: every other record of the batch is written, the bad one is kept in
QuarantinedRecord with the reason, counted in /metrics, and later batches go on as before."""

import uuid

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from calls.models import Call, CallStatus, QuarantinedRecord, Turn, TurnRole
from calls.recorder import Recorder

pytestmark = pytest.mark.django_db(transaction=True)


def _start(recorder: Recorder) -> uuid.UUID:
    call_uuid = uuid.uuid4()
    recorder.call_started(
        call_uuid, started_at=timezone.now(), language="en", status=CallStatus.IN_PROGRESS
    )
    return call_uuid


def _turn(recorder: Recorder, call_uuid: uuid.UUID, sequence: int, start_ms: int) -> None:
    recorder.turn(
        call_uuid,
        sequence=sequence,
        role=TurnRole.CALLER,
        text=f"turn {sequence}",
        start_ms=start_ms,
        end_ms=max(start_ms, 0) + 500,
    )


def _quarantined_count(kind: str) -> float:
    return REGISTRY.get_sample_value("callcenter_records_quarantined_total", {"kind": kind}) or 0


async def test_one_bad_turn_is_quarantined_and_the_rest_of_the_batch_is_written():
    recorder = Recorder()
    before = _quarantined_count("turn")
    poisoned, other = _start(recorder), _start(recorder)
    _turn(recorder, poisoned, 0, 0)
    _turn(recorder, poisoned, 1, -1400)  # what bunched audio used to make
    _turn(recorder, poisoned, 2, 3000)
    _turn(recorder, other, 0, 0)

    assert await recorder.flush()

    written = [
        (str(t.call.uuid), t.sequence)
        async for t in Turn.objects.select_related("call").order_by("call_id", "sequence")
    ]
    assert sorted(written) == sorted([(str(poisoned), 0), (str(poisoned), 2), (str(other), 0)])
    bad = await QuarantinedRecord.objects.aget()
    assert (bad.call_uuid, bad.kind) == (poisoned, "turn")
    assert bad.payload["start_ms"] == -1400 and bad.payload["sequence"] == 1
    assert "start_ms" in bad.error
    assert recorder.pending == 0 and recorder.quarantined == 1 and not recorder.outage
    assert _quarantined_count("turn") == before + 1

    # The recorder is not stuck: the next call and the end of this one are written.
    later = _start(recorder)
    _turn(recorder, later, 0, 0)
    recorder.call_ended(poisoned, status=CallStatus.ENDED, outcome="abandoned")
    assert await recorder.flush()
    assert await Turn.objects.filter(call__uuid=later).acount() == 1
    assert (await Call.objects.aget(uuid=poisoned)).status == CallStatus.ENDED


async def test_a_call_record_the_database_refuses_is_quarantined_with_its_turns():
    recorder = Recorder()
    good, bad = _start(recorder), _start(recorder)
    recorder.call_updated(bad, sample_rate=-8000)  # breaks Call.sample_rate's CHECK
    _turn(recorder, bad, 0, 0)
    _turn(recorder, good, 0, 0)

    assert await recorder.flush()

    assert await Call.objects.filter(uuid=good).aexists()
    assert not await Call.objects.filter(uuid=bad).aexists()
    kinds = sorted([q.kind async for q in QuarantinedRecord.objects.filter(call_uuid=bad)])
    assert kinds == ["call", "turn"]
    assert await Turn.objects.filter(call__uuid=good).acount() == 1
    assert recorder.pending == 0
