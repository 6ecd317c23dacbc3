"""The recorder never changes a call the database has as ended: even when a reused UUID got
past the server (it could not ask the database), the finished call's outcome stays."""

import uuid

import pytest
from django.utils import timezone

from calls.models import Call, CallOutcome, CallStatus
from calls.recorder import Recorder
from tests.factories import make_call

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_finished_call_is_not_rewritten_by_a_later_session():
    ended_at = timezone.now()
    finished = await Call.objects.acreate(
        uuid=uuid.uuid4(),
        status=CallStatus.ENDED,
        outcome=CallOutcome.ORDER_PLACED,
        end_reason="order placed",
        ended_at=ended_at,
    )
    recorder = Recorder()
    recorder.call_started(finished.uuid, started_at=timezone.now(), status="in_progress")
    recorder.call_ended(
        finished.uuid,
        status=CallStatus.ENDED,
        outcome=CallOutcome.ABANDONED,
        end_reason="caller hung up",
        ended_at=timezone.now(),
    )
    other = uuid.uuid4()
    recorder.call_started(other, started_at=timezone.now(), status="in_progress")

    assert await recorder.flush()

    call = await Call.objects.aget(uuid=finished.uuid)
    assert (call.outcome, call.end_reason, call.ended_at) == (
        CallOutcome.ORDER_PLACED,
        "order placed",
        ended_at,
    )
    assert await Call.objects.filter(uuid=other).aexists()
    assert recorder.pending == 0


def test_the_server_knows_a_call_it_ended_itself_before_it_is_written(db):
    recorder = Recorder()
    call_uuid = uuid.uuid4()
    recorder.call_started(call_uuid, started_at=timezone.now(), status="in_progress")
    assert not recorder.has_ended(call_uuid)
    recorder.call_ended(call_uuid, status=CallStatus.ENDED, outcome=CallOutcome.ABANDONED)
    assert recorder.has_ended(call_uuid)
    assert not recorder.has_ended(make_call().uuid)
