"""The admin's audit trail: catalog actions, order status actions and CSV exports of personal
data each leave LogEntry rows naming who did it, to which rows; the History page shows them."""

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from calls.models import Call
from catalog.models import Tire
from orders.models import Order, OrderStatus
from tests.factories import make_call, make_order, make_staff_member, make_tire

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = make_staff_member("Managers")
    client.force_login(user)
    return user


def _act(client, model, action: str, objects):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": action, "_selected_action": [o.pk for o in objects]})


def _entries(model, pk=None):
    entries = LogEntry.objects.filter(content_type__model=model._meta.model_name)
    return entries.filter(object_id=str(pk)) if pk is not None else entries


def test_taking_tires_off_sale_is_in_each_tires_history(client, manager):
    tires = [make_tire(), make_tire(), make_tire(is_active=False)]
    _act(client, Tire, "deactivate", tires)
    for tire in tires[:2]:
        (entry,) = _entries(Tire, tire.pk)
        assert entry.user == manager and entry.action_flag == CHANGE
        assert "No longer offered to callers." in entry.get_change_message()
    assert not _entries(Tire, tires[2].pk).exists(), "nothing changed for a tire already off"
    history = client.get(reverse("admin:catalog_tire_history", args=[tires[0].pk])).text
    assert "No longer offered to callers." in history and manager.username in history


def test_an_order_status_action_is_logged_only_where_it_changed_the_status(client, manager):
    new, done = make_order(), make_order()
    Order.objects.filter(pk=done.pk).update(status=OrderStatus.COMPLETED)
    _act(client, Order, "confirm", [new, done])
    (entry,) = _entries(Order, new.pk)
    assert entry.user == manager and "Status: confirmed." in entry.get_change_message()
    assert not _entries(Order, done.pk).exists(), "a refused transition is not logged"


def test_a_csv_export_of_orders_names_who_exported_which_orders(client, manager):
    orders = [make_order(), make_order()]
    response = _act(client, Order, "export_csv", orders)
    assert "attachment" in response["Content-Disposition"]
    (entry,) = _entries(Order)
    assert entry.user == manager
    assert entry.object_repr == "CSV export of 2 orders"
    for order in orders:
        assert order.number in entry.change_message


def test_a_csv_export_of_calls_names_who_exported_which_calls(client, manager):
    calls = [make_call(caller_number="+380671234567"), make_call()]
    response = _act(client, Call, "export_csv", calls)
    b"".join(response.streaming_content)
    (entry,) = _entries(Call)
    assert entry.user == manager and entry.object_repr == "CSV export of 2 calls"
    for call in calls:
        assert str(call.uuid) in entry.change_message
