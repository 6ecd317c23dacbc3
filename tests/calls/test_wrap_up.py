"""After a call: its summary line, the checks that flag it for staff, its statistics, and the
nightly retention of transcripts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, CallOutcome, CallStatus, Turn, TurnRole
from calls.recorder import Recorder
from calls.tasks import purge_old_transcripts, wrap_up_call, wrap_up_pending_calls
from tests.factories import make_call, make_order, make_turn

pytestmark = pytest.mark.django_db


def _ended_call(outcome: str, seconds: int = 95, **fields) -> Call:
    start = timezone.now() - timedelta(seconds=seconds + 300)
    return make_call(
        status=CallStatus.ENDED,
        outcome=outcome,
        started_at=start,
        ended_at=start + timedelta(seconds=seconds),
        **fields,
    )


def test_an_order_call_is_summarised_with_its_order_and_average_latency():
    call = _ended_call(CallOutcome.ORDER_PLACED)
    make_turn(call, role=TurnRole.BOT, text="Hello! How can I help?")
    make_turn(call, text="I need four winter tires 205/55 R16")
    make_turn(call, role=TurnRole.BOT, text="We have Nokian...", total_ms=900)
    make_turn(call, text="Yes, order them")
    make_turn(call, role=TurnRole.BOT, text="Your order number is...", total_ms=1300)
    order = make_order(source_call_id=call.pk)

    # True, never the summary: Celery logs what a task returns (the caller's words, a name).
    assert wrap_up_call.apply(args=[str(call.uuid)]).get() is True
    call.refresh_from_db()
    assert call.summary == f"Order placed: order {order.number} ({order.total}); 5 turns, 1:35"
    assert call.avg_reply_ms == 1100
    assert not call.needs_review and call.review_reason == ""
    assert call.wrapped_up_at is not None


def test_an_order_outcome_without_an_order_is_flagged():
    call = _ended_call(CallOutcome.ORDER_PLACED)
    wrap_up_call.apply(args=[str(call.uuid)])
    call.refresh_from_db()
    assert call.needs_review
    assert call.review_reason == "the outcome is 'order placed' but no order is linked"


def test_a_caller_who_hung_up_after_speaking_is_flagged_for_a_call_back():
    call = _ended_call(CallOutcome.ABANDONED, caller_number="+380671234567")
    make_turn(call, text="Do you have Michelin in seventeen inch, I")
    wrap_up_call.apply(args=[str(call.uuid)])
    call.refresh_from_db()
    assert call.summary.startswith('Abandoned by the caller: caller: "Do you have Michelin')
    assert call.review_reason == "the caller hung up after speaking: consider calling back"


def test_slow_replies_and_failures_are_flagged():
    call = _ended_call(CallOutcome.FAILED, end_reason="Asterisk reported a memory error")
    make_turn(call, role=TurnRole.BOT, text="...", total_ms=4200)
    wrap_up_call.apply(args=[str(call.uuid)])
    call.refresh_from_db()
    assert call.review_reason == (
        "the call failed: Asterisk reported a memory error; 1 replies took over 3 s"
    )


def test_wrapping_up_twice_gives_the_same_result_and_a_live_call_is_left_alone():
    call = _ended_call(CallOutcome.INFO_GIVEN)
    make_turn(call, text="What are your opening hours?")
    wrap_up_call.apply(args=[str(call.uuid)])
    first = Call.objects.get(pk=call.pk).summary
    wrap_up_call.apply(args=[str(call.uuid)])
    assert Call.objects.get(pk=call.pk).summary == first
    live = make_call()
    assert wrap_up_call.apply(args=[str(live.uuid)]).get() is False
    assert Call.objects.get(pk=live.pk).wrapped_up_at is None


def test_the_sweep_wraps_up_ended_calls_that_were_missed():
    missed = _ended_call(CallOutcome.INFO_GIVEN)
    done = _ended_call(CallOutcome.INFO_GIVEN, wrapped_up_at=timezone.now())
    just_ended = make_call(
        status=CallStatus.ENDED, outcome=CallOutcome.INFO_GIVEN, ended_at=timezone.now()
    )
    assert wrap_up_pending_calls.apply().get() == 1
    assert Call.objects.get(pk=missed.pk).wrapped_up_at is not None
    assert Call.objects.get(pk=done.pk).summary == ""
    assert Call.objects.get(pk=just_ended.pk).wrapped_up_at is None


@pytest.mark.django_db(transaction=True)
async def test_the_recorder_queues_the_wrap_up_when_it_writes_an_ended_call():
    recorder = Recorder(batch_window=0)
    call_uuid = __import__("uuid").uuid4()
    now = timezone.now()
    recorder.call_started(call_uuid, started_at=now, status=CallStatus.IN_PROGRESS)
    recorder.turn(call_uuid, sequence=0, role=TurnRole.CALLER, text="hello", start_ms=0, end_ms=900)
    assert await recorder.flush()
    recorder.call_ended(
        call_uuid, status=CallStatus.ENDED, outcome=CallOutcome.INFO_GIVEN, ended_at=now
    )
    assert await recorder.flush()
    call = await Call.objects.aget(uuid=call_uuid)
    # Run in-process here; tests/test_celery_worker.py has a worker run it through Redis.
    assert call.summary == 'Information given: caller: "hello"; 1 turns, 0:00'


def test_retention_deletes_old_transcripts_and_keeps_the_calls_and_orders(settings):
    settings.TRANSCRIPT_RETENTION_DAYS = 30
    old = make_call(started_at=timezone.now() - timedelta(days=31))
    make_turn(old)
    make_turn(old, role=TurnRole.BOT)
    order = make_order(source_call_id=old.pk)
    recent = make_call(started_at=timezone.now() - timedelta(days=29))
    make_turn(recent)

    assert purge_old_transcripts.apply(kwargs={"batch": 1}).get() == 2
    assert list(Turn.objects.values_list("call_id", flat=True)) == [recent.pk]
    assert Call.objects.filter(pk=old.pk).exists()
    assert order.source_call_id == old.pk and old.orders.count() == 1


def test_retention_of_zero_days_keeps_everything(settings):
    settings.TRANSCRIPT_RETENTION_DAYS = 0
    make_turn(make_call(started_at=timezone.now() - timedelta(days=3000)))
    assert purge_old_transcripts.apply().get() == 0
    assert Turn.objects.count() == 1
