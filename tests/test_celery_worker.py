"""A real Celery worker (with its beat) on Redis sends an order's notifications and wraps up a
call, and loses nothing while Redis or a webhook receiver is briefly away.

Orders are placed by a separate process, as the AudioSocket server places them; Redis is
reached through a proxy the test cuts and restores. Needs Redis: REDIS_URL, or one on
127.0.0.1:6379 (apt-get install redis-server; redis-server --daemonize yes).
"""

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.utils import timezone

from orders.models import Notification, NotificationStatus, Order
from orders.notifications import sign
from tests.factories import make_call, make_tire, make_turn
from tests.helpers.celery_worker import start_worker
from tests.helpers.fake_receivers import SMS_TOKEN, FakeReceivers
from tests.helpers.server_process import ROOT, database_url
from tests.helpers.tcp_proxy import TCPProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# A Redis database of its own, so a run leaves nothing in the one the developer uses. Under
# pytest-xdist the README's `--dist loadfile` keeps this module in one process, so no two
# workers of a run share this database (or take each other's tasks).
BROKER_DB = 14


def _redis_address() -> tuple[str, int]:
    url = urlsplit(settings.REDIS_URL or "redis://127.0.0.1:6379/0")
    address = (url.hostname or "127.0.0.1", url.port or 6379)
    try:
        socket.create_connection(address, timeout=2).close()
    except OSError:
        pytest.fail(
            f"these tests need Redis and none answers on {address[0]}:{address[1]}: set "
            "REDIS_URL, or install and start it (apt-get install redis-server)"
        )
    return address


@pytest.fixture
def redis_proxy():
    proxy = TCPProxy(*_redis_address()).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def shop_env(tmp_path, receivers):
    """The notification settings a shop sets, for the worker and the process placing orders."""
    return {
        "EMAIL_URL": f"filemail:///{tmp_path / 'mail'}",  # an absolute path
        "NOTIFY_STAFF_EMAILS": "manager@shop.example",
        "NOTIFY_WEBHOOK_URL": receivers.webhook_url,
        "NOTIFY_WEBHOOK_SECRET": "webhook-secret",
        "NOTIFY_CUSTOMER_SMS": "true",
        "SMS_BACKEND": "orders.sms.HTTPSMSBackend",
        "SMS_GATEWAY_URL": receivers.sms_url,
        "SMS_GATEWAY_TOKEN": SMS_TOKEN,
        # The sweep runs every second and takes what has waited a second.
        "NOTIFY_SWEEP_INTERVAL": "1",
        "NOTIFY_SWEEP_MIN_AGE": "1",
    }


@pytest.fixture
def broker(redis_proxy) -> dict:
    return {"CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_proxy.port}/{BROKER_DB}"}


@pytest.fixture
def worker(tmp_path, broker, shop_env):
    process = start_worker(broker["CELERY_BROKER_URL"], tmp_path / "beat-schedule", shop_env)
    yield process
    process.stop()


def _in_another_process(code: str, env: dict) -> subprocess.CompletedProcess:
    """Run Django code in a process of its own (as the AudioSocket server is) on the test
    database, with `env` (the broker, the shop's settings)."""
    environment = {**os.environ, "ENV_FILE": os.devnull, "DATABASE_URL": database_url(), **env}
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def _place_order(tire_id: int, env: dict) -> tuple[str, str]:
    """Place an order from another process; its number and what that process logged."""
    code = (
        "from orders import services\n"
        "order = services.place_order(customer_name='Olena Kovalenko',"
        f" customer_phone='+380671234567', lines=[services.Line({tire_id}, 4)])\n"
        "print('ORDER', order.number)\n"
    )
    done = _in_another_process(code, env)
    return done.stdout.split("ORDER ")[1].strip(), done.stderr


def _wait_until_sent(order: Order, timeout: float, worker) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = list(order.notifications.values_list("status", flat=True))
        if states and all(s == NotificationStatus.SENT for s in states):
            return
        time.sleep(0.5)
    rows = list(order.notifications.values("channel", "audience", "status", "last_error"))
    pytest.fail(f"notifications not sent in {timeout} s: {rows}\nworker:\n{worker.log[-4000:]}")


def _mails(tmp_path) -> list[str]:
    folder = tmp_path / "mail"
    return [f.read_text() for f in folder.iterdir()] if folder.exists() else []


def test_a_real_worker_sends_every_notification_of_a_new_order(
    worker, broker, receivers, shop_env, tmp_path
):
    tire = make_tire(model="Hakkapeliitta R5")
    number, _ = _place_order(tire.pk, {**shop_env, **broker})
    order = Order.objects.get(number=number)
    _wait_until_sent(order, 60, worker)

    (mail,) = _mails(tmp_path)
    assert f"Subject: New order {number}: 11400.00 UAH" in mail
    assert "4 × " in mail and "Hakkapeliitta R5 205/55 R16" in mail
    (hook,) = receivers.received(FakeReceivers.WEBHOOK)
    assert hook.headers["x-callcenter-signature"] == sign(
        "webhook-secret", hook.headers["x-callcenter-timestamp"], hook.body
    )
    (sms,) = receivers.received(FakeReceivers.SMS)
    assert sms.json["to"] == "+380671234567" and number in sms.json["text"]
    assert "Task orders.tasks.send_notification" in worker.log


def test_notifications_wait_out_a_redis_outage_and_a_webhook_outage(
    worker, broker, redis_proxy, receivers, shop_env, tmp_path
):
    tire = make_tire()
    receivers.down.add(FakeReceivers.WEBHOOK)
    redis_proxy.cut()  # Redis goes away for the worker and for the process placing orders

    number, log = _place_order(tire.pk, {**shop_env, **broker})
    # The order is taken all the same; its notifications wait in the database.
    order = Order.objects.get(number=number)
    assert "the sweep will send it" in log
    assert set(order.notifications.values_list("status", flat=True)) == {"pending"}

    redis_proxy.restore()
    # Back: the worker reconnects and its beat's sweep queues them. The webhook still fails,
    # so that one is retried with back-off until the receiver is back too.
    deadline = time.monotonic() + 60
    while not receivers.requests and time.monotonic() < deadline:
        time.sleep(0.5)
    assert receivers.requests, "nothing was sent after Redis came back:\n" + worker.log[-4000:]
    webhook = order.notifications.get(channel="webhook")
    # An attempt is counted when the worker claims it and its error stored when the request
    # fails: wait for the failed attempt's outcome, not only for its claim.
    while not webhook.last_error and time.monotonic() < deadline:
        time.sleep(0.5)
        webhook.refresh_from_db()
    assert webhook.status == NotificationStatus.PENDING
    assert "HTTP 503" in webhook.last_error
    receivers.down.clear()
    _wait_until_sent(order, 90, worker)

    # Each sent exactly once, however many times it was queued.
    assert len(_mails(tmp_path)) == 1
    assert len(receivers.received(FakeReceivers.WEBHOOK)) == 1
    assert len(receivers.received(FakeReceivers.SMS)) == 1
    assert Notification.objects.get(pk=webhook.pk).attempts >= 2


def test_a_real_worker_wraps_up_an_ended_call(worker, broker):
    ended = timezone.now() - timedelta(minutes=5)
    call = make_call(
        status="ended",
        outcome="info_given",
        started_at=ended - timedelta(seconds=42),
        ended_at=ended,
    )
    make_turn(call, text="Do you sell Nokian winter tires?")
    # Queued from another process, as the AudioSocket server's recorder queues it.
    _in_another_process(
        f"from calls.tasks import wrap_up_call; wrap_up_call.delay('{call.uuid}')", broker
    )
    deadline = time.monotonic() + 30
    while call.wrapped_up_at is None and time.monotonic() < deadline:
        time.sleep(0.5)
        call.refresh_from_db()
    assert call.summary == (
        'Information given: caller: "Do you sell Nokian winter tires?"; 1 turns, 0:42'
    ), worker.log[-4000:]
