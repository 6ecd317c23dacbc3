"""Call and Turn rows: one turn per position in a call, durations that read right."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from calls.models import CallStatus
from tests.factories import make_call, make_turn

pytestmark = pytest.mark.django_db


def test_a_turn_position_is_stored_once_per_call():
    call = make_call()
    make_turn(call, sequence=0)
    make_turn(make_call(), sequence=0)  # the same position in another call is fine
    with pytest.raises(IntegrityError):
        make_turn(call, sequence=0)


def test_a_calls_duration_runs_until_it_ends():
    started = timezone.now() - timedelta(minutes=3)
    live = make_call(started_at=started)
    assert live.duration >= timedelta(minutes=3)
    ended = make_call(
        started_at=started, ended_at=started + timedelta(seconds=95), status=CallStatus.ENDED
    )
    assert ended.duration == timedelta(seconds=95)


def test_turns_come_back_in_the_order_they_were_spoken():
    call = make_call()
    for sequence in (2, 0, 1):
        make_turn(call, sequence=sequence, text=f"turn {sequence}")
    assert [t.text for t in call.turns.all()] == ["turn 0", "turn 1", "turn 2"]
