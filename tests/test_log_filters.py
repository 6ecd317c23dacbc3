"""Personal data never reaches the logs in full: phone numbers, names, addresses, what callers
said, and the row values a database error quotes."""

import logging
import sys
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils.module_loading import import_string

from callcenter.log_filters import (
    MaskPersonalData,
    MaskPhoneNumbers,
    mask_name,
    mask_personal_data,
    mask_phone_numbers,
    mask_row_values,
    mask_words,
)
from calls.agent.base import CallContext
from calls.agent.rules import RuleBasedAgent
from catalog.models import Season
from orders.models import Notification, NotificationStatus, Order
from orders.sms import sms_backend
from tests.factories import make_brand, make_tire
from tests.helpers.server_process import free_port


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


# --- Names, addresses and callers' words -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Olena Kovalenko", "O*** K***"),
        ("Тарас Шевченко", "Т*** Ш***"),
        ("Kyiv, Khreshchatyk street 22, apt. 5", "K***, K*** s*** 22, a***. 5"),
        ("", ""),
    ],
)
def test_names_and_addresses_keep_only_the_first_letter_of_each_word(name, expected):
    assert mask_name(name) == expected


def test_words_are_masked_but_order_numbers_and_totals_stay_readable():
    text = "New order 104523: Olena Kovalenko, +380671234567, 4 × Nokian 205/55 R16, 15600.00 UAH"
    assert mask_words(text) == (
        "N*** o*** 104523: O*** K***, +**********67, 4 × N*** 205/55 R***, 15600.00 U***"
    )


def test_database_errors_lose_the_row_values_they_quote():
    failing_row = (
        'null value in column "number" of relation "orders_order" violates not-null constraint\n'
        "DETAIL:  Failing row contains (7, null, Olena Kovalenko, +380671234567)."
    )
    duplicate = 'duplicate key value violates unique constraint "x"\nDETAIL:  Key (name)=(Olena) '
    duplicate += "already exists."
    assert mask_row_values(failing_row).endswith("DETAIL:  Failing row contains (...).")
    assert mask_row_values(duplicate).endswith("DETAIL:  Key (name)=(...) already exists.")


@pytest.mark.django_db
def test_a_real_postgresql_constraint_error_loses_its_row_values():
    if connection.vendor != "postgresql":
        pytest.skip("the row values are quoted by PostgreSQL's error details")
    with pytest.raises(IntegrityError) as raised, transaction.atomic(), connection.cursor() as sql:
        sql.execute("CREATE TEMPORARY TABLE customer (name text, phone text NOT NULL)")
        sql.execute("INSERT INTO customer VALUES ('Olena Kovalenko', NULL)")
    assert "Olena Kovalenko" in str(raised.value), "the detail is there to be masked"
    assert "Olena" not in mask_personal_data(str(raised.value))


def test_the_filter_masks_the_traceback_of_a_logged_exception_too():
    try:
        raise ValueError("'+380671234567' is not a valid phone number")
    except ValueError:
        record = logging.LogRecord(
            "calls", logging.ERROR, __file__, 1, "a tool failed", None, sys.exc_info()
        )
    MaskPersonalData().filter(record)
    output = logging.Formatter().format(record)
    assert "+**********67" in output and "380671234567" not in output


# --- A whole order, from the caller's first words to the last notification ----------------------


@pytest.mark.django_db
def test_a_whole_order_flow_logs_no_name_no_address_and_no_full_phone_number(
    settings, caplog, django_capture_on_commit_callbacks
):
    """Placed by the rule-based agent (the caller's words go through it), delivered to staff and
    the customer by the console SMS backend, with one channel failing on purpose so that the
    error paths log too; everything at DEBUG, as the configured console handler lets it out."""
    settings.NOTIFY_STAFF_EMAILS = ["manager@shop.example"]
    settings.NOTIFY_STAFF_PHONES = ["+380501112233"]
    settings.NOTIFY_CUSTOMER_SMS = True
    settings.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/refused"
    settings.SMS_BACKEND = "orders.sms.ConsoleSMSBackend"
    sms_backend.cache_clear()
    configured = settings.LOGGING["handlers"]["console"]["filters"]
    for name in configured:
        caplog.handler.addFilter(import_string(settings.LOGGING["filters"][name]["()"])())
    make_tire(brand=make_brand(name="Nokian"), model="Hakkapeliitta R5", season=Season.WINTER)

    context = CallContext(uuid.uuid4(), "en", caller_number="+380671234567")
    agent = RuleBasedAgent()
    said = [
        "I need winter tires, two hundred five, fifty five, R sixteen",
        "The first one",
        "Four",
        "My name is Taras Shevchenko",
        "zero six seven, one two three, four five, six seven",
        "Delivery, please",
        "Kyiv, Khreshchatyk street 22",
        "Yes, that's right",
    ]
    try:
        with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
            for text in said:
                agent.turn(context, text)
    finally:
        sms_backend.cache_clear()

    order = Order.objects.get(source_call__uuid=context.call_uuid)
    assert (order.customer_name, order.delivery_address) == (
        "Taras Shevchenko",
        "Kyiv, Khreshchatyk street 22",
    )
    sent = Notification.objects.filter(order=order, status=NotificationStatus.SENT).count()
    assert sent == 3, "staff email, staff SMS and the customer's SMS; the webhook failed"
    logged = "\n".join(caplog.handler.format(record) for record in caplog.records)
    assert "SMS to" in logged and "not sent" in logged, "the flow did log"
    for personal in ("Taras", "Shevchenko", "Khreshchatyk", "671234567", "501112233"):
        assert personal not in logged, personal
