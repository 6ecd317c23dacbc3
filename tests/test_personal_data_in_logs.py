"""What real processes print keeps callers' words and admin searches out: a Celery worker's
task lines and the web server's access log (Daphne run as deployed), read from the processes'
own output.

The worker uses Redis database 3 (REDIS_URL names the server).
"""

import io
import logging
import time
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from celery.app.trace import LOG_SUCCESS
from celery.app.trace import info as log_task_line
from django.conf import settings
from django.utils import timezone

from calls.models import CallOutcome
from tests.factories import make_call, make_turn
from tests.helpers.celery_worker import start_worker
from tests.helpers.web_process import start_daphne

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_DB = 12  # a Redis database of its own: another test worker may run the broker tests at once
SAID = "Hello, my name is Olena Kovalenko, I need tires"


def _broker_url() -> str:
    url = urlsplit(settings.REDIS_URL or "redis://127.0.0.1:6379/0")
    return f"redis://{url.hostname or '127.0.0.1'}:{url.port or 6379}/{REDIS_DB}"


@pytest.mark.slow
def test_a_real_worker_wrapping_up_a_call_logs_none_of_what_the_caller_said(tmp_path):
    ended = timezone.now() - timedelta(minutes=5)
    call = make_call(
        status="ended",
        outcome=CallOutcome.ABANDONED,
        started_at=ended - timedelta(seconds=20),
        ended_at=ended,
    )
    make_turn(call, text=SAID)
    # Its wrap-up was never queued: the worker's beat sweep queues it within a second.
    sweep = {"WRAP_UP_SWEEP_INTERVAL": "1", "WRAP_UP_SWEEP_MIN_AGE": "1"}
    worker = start_worker(_broker_url(), tmp_path / "beat-schedule", sweep)
    try:
        deadline = time.monotonic() + 60
        while call.wrapped_up_at is None and time.monotonic() < deadline:
            time.sleep(0.5)
            call.refresh_from_db()
        time.sleep(1)  # the success line follows the database write
    finally:
        worker.stop()

    assert "Olena" in call.summary  # staff read it in the admin
    assert "Task calls.tasks.wrap_up_call" in worker.log and "succeeded in" in worker.log
    assert "Olena" not in worker.log and "Kovalenko" not in worker.log, worker.log[-3000:]


def test_celery_success_lines_show_numbers_and_hide_text():
    # The console handler settings.LOGGING configures, with its filters, writing to a buffer.
    (console,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    buffer = io.StringIO()
    stream = console.setStream(buffer)
    try:
        for returned in ("3", "True", repr(f'Abandoned: caller: "{SAID}"')):
            context = {"id": "t-1", "name": "some.task", "runtime": 0.01, "return_value": returned}
            log_task_line(LOG_SUCCESS, context)
    finally:
        console.setStream(stream)
    logged = buffer.getvalue()
    assert "succeeded in 0.01s: 3\n" in logged and "succeeded in 0.01s: True\n" in logged
    assert "succeeded in 0.01s: (hidden)\n" in logged
    assert "Olena" not in logged


@pytest.fixture(autouse=True)
def _celery_trace_logs_at_info():
    # The worker turns celery.app.trace's INFO lines on; do the same in this process.
    logger = logging.getLogger("celery.app.trace")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


@pytest.mark.slow
def test_the_web_servers_access_log_leaves_out_what_staff_searched_for():
    web = start_daphne()
    try:
        base = f"http://{web.host}:{web.port}"
        searches = ["Petrenko", "+380671234567", "067 123 45 67"]
        for search in searches:
            response = httpx.get(f"{base}/admin/orders/order/", params={"q": search})
            assert response.status_code == 302  # to the login page, with the search in `next`
        httpx.get(f"{base}/healthz")
        time.sleep(1)  # the last lines reach the pipe
    finally:
        web.stop()

    assert 'GET /admin/orders/order/?q=…" 302' in web.log, web.log[-3000:]
    assert 'GET /healthz" ' in web.log  # every request has its line
    for leaked in ("Petrenko", "380671234567", "4567", "45 67", "45+67"):
        assert leaked not in web.log, web.log[-3000:]
