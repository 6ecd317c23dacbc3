"""What a call takes in: the keypad's bounds (entry length, key rate, recorded keys, the flood
that ends a call) and inbound audio held to real time."""

import logging

import pytest

from calls.audiosocket.limits import (
    AUDIO_FLOOD_MS,
    AUDIO_SLACK_MS,
    Flood,
    RealTimeAudio,
    ThrottledLog,
)
from calls.keypad import (
    FLOOD_KEYS,
    KEY_BURST,
    MAX_ENTRY_DIGITS,
    MAX_RECORDED_KEYS,
    Keypad,
    KeypadFlood,
)


def test_an_entry_keeps_at_most_a_phone_or_order_number_of_digits():
    keypad = Keypad(now=0.0)
    for digit in "1234567890" * 5:
        keypad.add(digit)
    assert keypad.finish() == ("1234567890" * 2)[:MAX_ENTRY_DIGITS]
    assert keypad.cut == 50 - MAX_ENTRY_DIGITS
    assert not keypad.entering and keypad.finish() == ""


def test_keys_at_a_persons_pace_all_count():
    keypad = Keypad(now=0.0)
    assert all(keypad.allow(now=i * 0.1) for i in range(1000))  # ten a second for 100 s
    assert keypad.dropped == 0


def test_keys_faster_than_a_person_are_dropped_then_the_flood_ends_the_call():
    keypad = Keypad(now=0.0)
    allowed = [keypad.allow(now=0.0) for _ in range(KEY_BURST + FLOOD_KEYS)]
    assert allowed.count(True) == KEY_BURST
    with pytest.raises(KeypadFlood, match="keypad flood"):
        keypad.allow(now=0.0)


def test_only_so_many_key_presses_are_recorded_per_call():
    keypad = Keypad(now=0.0)
    assert sum(keypad.record() for _ in range(MAX_RECORDED_KEYS * 3)) == MAX_RECORDED_KEYS


def test_audio_at_real_time_is_all_taken():
    audio = RealTimeAudio(now=0.0)
    assert all(audio.admit(20, now=i * 0.02) for i in range(50 * 600))  # ten minutes
    assert audio.dropped_ms == 0


def test_audio_ahead_of_real_time_by_more_than_the_slack_is_dropped_then_ends_the_call():
    audio = RealTimeAudio(now=0.0)
    taken = [audio.admit(20, now=0.0) for _ in range(AUDIO_SLACK_MS // 20 + 10)]
    assert taken.count(True) == AUDIO_SLACK_MS // 20, "a burst of the slack is taken"
    with pytest.raises(Flood, match="audio flood"):
        for _ in range(AUDIO_FLOOD_MS // 20):
            audio.admit(20, now=0.0)


def test_a_repeated_warning_is_logged_once_then_counted_per_interval(caplog):
    log = ThrottledLog(logging.getLogger("test.throttle"), interval=10)
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        for second in range(25):
            for _ in range(100):  # a hundred connections a second
                log.warning("no UUID", float(second), "no UUID from %s", "peer")
        log.flush(100.0)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "no UUID from peer",
        "999 more like the last (no UUID) in 10 s",
        "no UUID from peer",
        "999 more like the last (no UUID) in 10 s",
        "no UUID from peer",
        "499 more like the last (no UUID) in 10 s",
    ]
