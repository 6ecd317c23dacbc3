"""A Celery broker that accepts connections and never answers holds up no order: queuing goes
through callcenter.publisher's thread, which gives up after the broker time-outs and leaves
the task to the sweeps; the publisher keeps at most its bound of tasks waiting.

The broker is real TCP (tests/helpers/silent_server.py) and Redis database 3 for the broker
that works; orders are placed in a process of their own, as the AudioSocket server places them.
"""

import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import redis
from celery import Celery
from django.conf import settings

from callcenter.publisher import Publisher
from orders.models import NotificationStatus, Order
from tests.factories import make_tire
from tests.helpers.server_process import ROOT, database_url
from tests.helpers.silent_server import SilentServer

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_DB = 13  # a Redis database of its own: another test worker may run a Celery worker at once


@pytest.fixture
def hung_broker():
    server = SilentServer().start()
    yield server
    server.stop()


def _place_order_in_another_process(tire_id: int, env: dict) -> subprocess.CompletedProcess:
    code = (
        "import time\n"
        "from orders import services\n"
        "started = time.monotonic()\n"
        "order = services.place_order(customer_name='Olena Kovalenko',"
        f" customer_phone='+380671234567', lines=[services.Line({tire_id}, 4)])\n"
        "print('ORDER', order.number, round(time.monotonic() - started, 2))\n"
    )
    environment = {
        **os.environ,
        "ENV_FILE": os.devnull,
        "DATABASE_URL": database_url(),
        "NOTIFY_CUSTOMER_SMS": "true",
        "NOTIFY_STAFF_EMAILS": "manager@shop.example",
        **env,
    }
    # Before the publisher this process never ended: the publish waited on the broker forever.
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_order_is_placed_at_once_while_the_broker_hangs(hung_broker):
    tire = make_tire()
    # The broker time-outs are long here, so only a publish off the caller's path is quick.
    done = _place_order_in_another_process(
        tire.pk, {"CELERY_BROKER_URL": hung_broker.url, "BROKER_SOCKET_TIMEOUT": "60"}
    )
    assert done.returncode == 0, done.stderr
    number, seconds = done.stdout.split("ORDER ")[1].split()
    assert float(seconds) < 15, done.stdout  # generous: it takes well under a second
    order = Order.objects.get(number=number)
    # The notifications wait as pending rows for the sweep; the process said so on its way out.
    assert set(order.notifications.values_list("status", flat=True)) == {NotificationStatus.PENDING}
    assert order.notifications.count() == 2
    assert "tasks not yet queued: the sweeps will send them" in done.stderr
    assert hung_broker.connections >= 1  # it did try the broker


def _celery_app(broker_url: str) -> Celery:
    app = Celery("publisher-test", broker=broker_url, set_as_current=False)
    app.conf.broker_transport_options = {"socket_timeout": 1, "socket_connect_timeout": 1}
    app.conf.task_publish_retry_policy = settings.CELERY_TASK_PUBLISH_RETRY_POLICY
    return app


def _ping(n: int) -> int:
    return n


def test_a_hung_broker_costs_the_publisher_one_time_out_and_a_bounded_queue(hung_broker, caplog):
    app = _celery_app(hung_broker.url)
    ping = app.task(name="tests.ping")(_ping)
    publisher = Publisher(max_waiting=3)
    for n in range(10):
        publisher.publish(ping, n, what=f"ping {n}")  # returns at once
    assert len(publisher._jobs) <= 3
    assert publisher.drain(60)
    # One publish waited out the time-out; the rest were left to the sweeps, none sent.
    assert publisher.failed == 1 and publisher.published == 0
    assert publisher.dropped == 9
    assert "could not queue ping" in caplog.text


def test_the_publisher_queues_on_a_broker_that_answers():
    url = urlsplit(settings.REDIS_URL or "redis://127.0.0.1:6379/0")
    broker_url = f"redis://{url.hostname or '127.0.0.1'}:{url.port or 6379}/{REDIS_DB}"
    app = _celery_app(broker_url)
    app.conf.task_default_queue = "publisher-test"
    ping = app.task(name="tests.ping")(_ping)
    queued = redis.Redis.from_url(broker_url)
    queued.delete("publisher-test")
    publisher = Publisher()
    try:
        for n in range(3):
            publisher.publish(ping, n, what=f"ping {n}")
        assert publisher.drain(30)
        assert (publisher.published, publisher.failed, publisher.dropped) == (3, 0, 0)
        assert queued.llen("publisher-test") == 3
    finally:
        queued.delete("publisher-test")
