"""The keypad's bounds: entry length, key rate, recorded keys, and the flood that ends a call."""

import pytest

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
