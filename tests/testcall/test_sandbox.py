"""Sandbox orders (placed in a test call without "place real orders"): stored and linked to
their call, but no stock taken or given back, no notification, left out of the reports and the
order metrics; the admin shows and filters test calls and sandbox orders."""

import pytest
from django.utils import timezone

from callcenter.metrics import StoredCallsCollector
from calls import reports
from calls.models import CallOutcome
from orders.models import Notification, OrderStatus
from orders.services import change_status
from tests.factories import make_call, make_order, make_tire

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _notified(settings):
    settings.NOTIFY_STAFF_EMAILS = ["shop@example.com"]


def _test_call(**fields):
    return make_call(is_test=True, outcome=CallOutcome.ORDER_PLACED, **fields)


def test_an_order_of_a_test_call_is_sandbox_and_takes_no_stock_nor_notifies():
    tire = make_tire(stock_quantity=12)
    order = make_order(tire=tire, quantity=4, source_call_id=_test_call().pk)
    tire.refresh_from_db()
    assert order.sandbox and tire.stock_quantity == 12
    assert not Notification.objects.filter(order=order).exists()
    change_status(order.pk, OrderStatus.CANCELLED)
    tire.refresh_from_db()
    assert tire.stock_quantity == 12, "cancelling a sandbox order gives back nothing"


def test_a_sandbox_order_still_needs_the_tires_in_stock():
    from orders.services import OutOfStock

    tire = make_tire(stock_quantity=2)
    with pytest.raises(OutOfStock):
        make_order(tire=tire, quantity=4, source_call_id=_test_call().pk)


def test_a_test_call_allowed_real_orders_and_a_customer_call_place_real_ones():
    tire = make_tire(stock_quantity=12)
    real_test = make_order(tire=tire, source_call_id=_test_call(test_real_orders=True).pk)
    customer = make_order(tire=tire, source_call_id=make_call().pk)
    tire.refresh_from_db()
    assert not real_test.sandbox and not customer.sandbox and tire.stock_quantity == 4
    notified = set(Notification.objects.values_list("order_id", flat=True))
    assert notified == {real_test.pk, customer.pk}


def test_the_report_leaves_test_calls_and_sandbox_orders_out():
    now = timezone.now()
    tire = make_tire(stock_quantity=50)
    make_order(tire=tire, source_call_id=_test_call(started_at=now).pk)
    make_order(tire=tire, source_call_id=_test_call(started_at=now, test_real_orders=True).pk)
    make_order(tire=tire, source_call_id=make_call(started_at=now, outcome="order_placed").pk)
    headline = reports.build_report(7).headline
    assert headline.calls == 1, "test calls are not the shop's calls"
    assert headline.bot_orders == 2, "a real order of a test call counts, a sandbox one not"


def test_the_order_metrics_leave_sandbox_orders_out():
    tire = make_tire(stock_quantity=50)
    make_order(tire=tire, source_call_id=_test_call().pk)
    make_order(tire=tire, source_call_id=make_call().pk)
    families = {f.name: f for f in StoredCallsCollector().collect()}
    new_bot = [
        s.value
        for s in families["callcenter_orders"].samples
        if s.labels == {"status": "new", "source": "bot"} and s.name.endswith("_total")
    ]
    assert new_bot == [1.0]


def test_the_admin_filters_test_calls_and_sandbox_orders(staff_client):
    tire = make_tire(stock_quantity=50)
    sandbox = make_order(tire=tire, source_call_id=_test_call().pk)
    real = make_order(tire=tire, source_call_id=make_call().pk)
    page = staff_client.get("/admin/orders/order/", {"sandbox__exact": "1"}).content.decode()
    assert sandbox.number in page and real.number not in page
    page = staff_client.get("/admin/orders/order/", {"sandbox__exact": "0"}).content.decode()
    assert real.number in page and sandbox.number not in page
    calls = staff_client.get("/admin/calls/call/", {"is_test__exact": "1"}).content.decode()
    assert (
        str(sandbox.source_call.uuid)[:8] in calls and str(real.source_call.uuid)[:8] not in calls
    )
    detail = staff_client.get(f"/admin/orders/order/{sandbox.pk}/change/").content.decode()
    assert "Sandbox" in detail
