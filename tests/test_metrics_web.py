"""/metrics of the web process: what the database holds about every process's calls, turns,
orders and notifications, in Prometheus text, for the monitoring network and staff only."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from calls.models import CallOutcome, CallStatus, TurnRole
from orders import services
from orders.models import Notification, NotificationStatus, OrderStatus
from tests.factories import make_call, make_order, make_staff_user, make_turn

pytestmark = pytest.mark.django_db

PROMETHEUS = "10.0.0.7"  # a scraper on the private network


@pytest.fixture
def stored_calls():
    """Three calls (one still in progress), their turns, three orders and their notifications."""
    live = make_call()
    ordered = make_call(status=CallStatus.ENDED, outcome=CallOutcome.ORDER_PLACED)
    make_call(status=CallStatus.ENDED, outcome=CallOutcome.ABANDONED)
    make_turn(ordered, role=TurnRole.BOT, text="Hello!")
    make_turn(ordered, stt_ms=300)
    make_turn(
        ordered,
        role=TurnRole.BOT,
        endpoint_ms=600,
        stt_ms=150,
        agent_ms=20,
        tts_ms=90,
        total_ms=800,
    )
    make_turn(ordered, stt_ms=420)
    make_turn(ordered, role=TurnRole.BOT, total_ms=1000)  # on a bucket's bound: counted in it
    make_turn(live, role=TurnRole.BOT, total_ms=1800)
    by_bot = make_order(source_call_id=ordered.pk)
    make_order(source_call_id=ordered.pk)
    by_staff = make_order()
    services.change_status(by_staff.pk, OrderStatus.CANCELLED)
    Notification.objects.all().delete()
    for channel, status in (("email", NotificationStatus.SENT), ("sms", NotificationStatus.FAILED)):
        Notification.objects.create(order=by_bot, channel=channel, audience="staff", status=status)


def _scrape(client, **request) -> str:
    response = client.get("/metrics", REMOTE_ADDR=PROMETHEUS, **request)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def _samples(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_it_counts_calls_turns_orders_and_notifications(client, stored_calls):
    samples = _samples(_scrape(client))
    assert samples["callcenter_active_calls", ()] == 1
    assert samples["callcenter_calls_total", (("outcome", "order_placed"),)] == 1
    assert samples["callcenter_calls_total", (("outcome", "abandoned"),)] == 1
    assert samples["callcenter_calls_total", (("outcome", "none"),)] == 1
    assert samples["callcenter_calls_total", (("outcome", "transferred"),)] == 0
    assert samples["callcenter_turns_total", (("role", "bot"),)] == 4
    assert samples["callcenter_turns_total", (("role", "caller"),)] == 2
    orders = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "callcenter_orders_total"
    }
    assert orders[("source", "bot"), ("status", "new")] == 2
    assert orders[("source", "staff"), ("status", "cancelled")] == 1
    assert orders[("source", "staff"), ("status", "new")] == 0
    assert sum(orders.values()) == 3
    assert samples["callcenter_notifications", (("status", "sent"),)] == 1
    assert samples["callcenter_notifications", (("status", "failed"),)] == 1
    assert samples["callcenter_notifications", (("status", "pending"),)] == 0


def test_stored_turn_latencies_are_histograms_with_the_live_buckets(client, stored_calls):
    text = _scrape(client)
    # The lines a user greps for: total turn latency 0.8 s, 1.0 s and 1.8 s.
    assert 'callcenter_stored_turn_total_seconds_bucket{le="0.75"} 0.0' in text
    assert 'callcenter_stored_turn_total_seconds_bucket{le="1.0"} 2.0' in text
    assert 'callcenter_stored_turn_total_seconds_bucket{le="2.0"} 3.0' in text
    assert 'callcenter_stored_turn_total_seconds_bucket{le="+Inf"} 3.0' in text
    assert "callcenter_stored_turn_total_seconds_count 3.0" in text
    assert "callcenter_stored_turn_total_seconds_sum 3.6" in text
    # Speech-to-text is timed on the caller's turns (0.3 s, 0.42 s) and one bot turn (0.15 s).
    assert 'callcenter_stored_turn_stt_seconds_bucket{le="0.2"} 1.0' in text
    assert 'callcenter_stored_turn_stt_seconds_bucket{le="0.3"} 2.0' in text
    assert "callcenter_stored_turn_stt_seconds_count 3.0" in text
    for stage in ("endpoint", "agent", "tts"):
        assert f"callcenter_stored_turn_{stage}_seconds_count 1.0" in text, stage


def test_an_empty_database_gives_zeros_not_gaps(client):
    samples = _samples(_scrape(client))
    assert samples["callcenter_active_calls", ()] == 0
    assert samples["callcenter_stored_turn_agent_seconds_bucket", (("le", "+Inf"),)] == 0
    assert samples["callcenter_stored_turn_agent_seconds_sum", ()] == 0
    assert samples["callcenter_orders_total", (("source", "bot"), ("status", "completed"))] == 0


def test_a_scrape_costs_five_queries_however_many_rows(
    client, stored_calls, django_assert_num_queries
):
    with django_assert_num_queries(5):
        _scrape(client)


@pytest.mark.parametrize("address", ["127.0.0.1", "192.168.1.20", "172.20.0.5", "::1", "fd00::5"])
def test_private_networks_may_scrape(client, address):
    assert client.get("/metrics", REMOTE_ADDR=address).status_code == 200


def test_anyone_else_is_forbidden(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert b"callcenter_" not in response.content


def test_staff_may_scrape_from_anywhere(client):
    client.force_login(make_staff_user())
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_the_allowed_networks_come_from_settings(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 403
