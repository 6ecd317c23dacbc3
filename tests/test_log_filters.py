"""Phone numbers never reach the logs in full."""

import logging

import pytest

from callcenter.log_filters import MaskPhoneNumbers, mask_phone_numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call from +380671234567 started", "call from +**********67 started"),
        ("caller said 067 123 45 67.", "caller said ********67."),
        ("number (067) 123-45-67 confirmed", "number ********67 confirmed"),
    ],
)
def test_phone_numbers_are_masked_but_for_the_last_two_digits(text, expected):
    assert mask_phone_numbers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "call 123e4567-e89b-12d3-a456-426614174000 ended",
        "at 2026-11-24 22:13:19",
        "order 104523 placed",
        "reply took 1234 ms",
        "size 205/55 R16",
    ],
)
def test_uuids_dates_order_numbers_and_sizes_are_left_alone(text):
    assert mask_phone_numbers(text) == text


def test_the_filter_masks_formatted_log_records():
    record = logging.LogRecord(
        "calls", logging.INFO, __file__, 1, "caller %s said %s", ("+380671234567", "hello"), None
    )
    assert MaskPhoneNumbers().filter(record) is True
    assert record.getMessage() == "caller +**********67 said hello"
