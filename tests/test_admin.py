"""The admin pages staff use every day: they open, find things, and their actions work."""

import pytest
from django.contrib import admin
from django.urls import reverse

from calls.models import CallOutcome, QuarantinedRecord, TurnRole
from catalog.models import Tire
from orders.models import Order, OrderStatus
from tests.factories import make_call, make_order, make_tire, make_turn

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_everything():
    tire = make_tire(sku="MI-PS5-2055516-91W", width=205, profile=55, rim_diameter=16)
    call = make_call(caller_number="+380671234567", outcome=CallOutcome.ORDER_PLACED)
    make_turn(call, role=TurnRole.BOT, text="Hello, this is the tire shop.")
    make_turn(call, role=TurnRole.CALLER, text="Four summer tires 205/55 R16, please.")
    order = make_order(tire=tire, source_call_id=call.pk)
    QuarantinedRecord.objects.create(
        call_uuid=call.uuid, kind="turn", payload={"start_ms": -1400}, error="CHECK failed"
    )
    return {"tire": tire, "call": call, "order": order}


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_model_has_working_list_add_and_change_pages(
    staff_client, one_of_everything
):
    checked = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ("catalog", "orders", "calls"):
            continue
        assert staff_client.get(_admin_url(model, "changelist")).status_code == 200, model
        obj = model.objects.first()
        assert obj is not None, f"fixture made no {model.__name__}"
        assert staff_client.get(_admin_url(model, "change", obj.pk)).status_code == 200, model
        if model_admin.has_add_permission(staff_client.request().wsgi_request):
            assert staff_client.get(_admin_url(model, "add")).status_code == 200, model
        checked.append(model.__name__)
    assert sorted(checked) == [
        "Brand",
        "Call",
        "Notification",
        "Order",
        "QuarantinedRecord",
        "Tire",
        "Turn",
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, one_of_everything):
    response = client.get(_admin_url(Order, "changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    ("query", "expect_found"),
    [("067 123-45-67", True), ("+380671234567", True), ("099 000 00 00", False)],
)
def test_orders_are_found_by_phone_as_staff_type_it(
    staff_client, one_of_everything, query, expect_found
):
    number = one_of_everything["order"].number
    response = staff_client.get(_admin_url(Order, "changelist"), {"q": query})
    assert response.status_code == 200
    assert (number in response.text) is expect_found


def test_orders_are_found_by_number(staff_client, one_of_everything):
    other = make_order(customer_phone="+380501112233")
    number = one_of_everything["order"].number
    response = staff_client.get(_admin_url(Order, "changelist"), {"q": number})
    assert number in response.text
    assert other.number not in response.text


def test_tires_are_found_by_sku_and_by_written_size(staff_client, one_of_everything):
    make_tire(sku="OTHER-1956515", width=195, profile=65, rim_diameter=15)
    for query in ("MI-PS5", "205/55 R16", "205/55/16"):
        response = staff_client.get(_admin_url(Tire, "changelist"), {"q": query})
        assert "MI-PS5-2055516-91W" in response.text, query
        assert "OTHER-1956515" not in response.text, query


def test_calls_are_found_by_uuid_and_caller_number(staff_client, one_of_everything):
    call = one_of_everything["call"]
    other = make_call(caller_number="+380509998877")
    for query in (str(call.uuid), "0671234567"):
        response = staff_client.get(_admin_url(type(call), "changelist"), {"q": query})
        assert str(call.uuid)[:8] in response.text, query
        assert str(other.uuid)[:8] not in response.text, query


def test_list_filters_answer(staff_client, one_of_everything):
    pages = [
        (Order, {"status__exact": "new"}),
        (Order, {"created_at__gte": "2020-01-01 00:00:00+00:00"}),
        (type(one_of_everything["call"]), {"outcome__exact": "order_placed"}),
        (Tire, {"season__exact": "summer", "brand__id__exact": one_of_everything["tire"].brand_id}),
    ]
    for model, params in pages:
        response = staff_client.get(_admin_url(model, "changelist"), params)
        assert response.status_code == 200, (model, params)
        assert "0 results" not in response.text, (model, params)


def test_a_calls_page_shows_its_transcript_in_time_order(staff_client, one_of_everything):
    call = one_of_everything["call"]
    make_turn(call, role=TurnRole.BOT, text="Which season do you need?")
    text = staff_client.get(_admin_url(type(call), "change", call.pk)).text
    greeting = text.index("Hello, this is the tire shop.")
    request = text.index("Four summer tires 205/55 R16, please.")
    question = text.index("Which season do you need?")
    assert greeting < request < question
    assert one_of_everything["order"].number in text


def test_an_orders_page_lists_its_items(staff_client, one_of_everything):
    order = one_of_everything["order"]
    text = staff_client.get(_admin_url(Order, "change", order.pk)).text
    assert "205/55 R16" in text
    assert "Olena Kovalenko" in text


def test_cancelling_in_the_admin_goes_through_the_services_and_restocks(
    staff_client, one_of_everything
):
    order, tire = one_of_everything["order"], one_of_everything["tire"]
    stock_after_order = Tire.objects.get(pk=tire.pk).stock_quantity
    response = staff_client.post(
        _admin_url(Order, "changelist"),
        {"action": "cancel", "_selected_action": [order.pk]},
        follow=True,
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert Tire.objects.get(pk=tire.pk).stock_quantity == stock_after_order + 4


def test_an_impossible_status_change_is_refused_with_a_message(staff_client, one_of_everything):
    order = one_of_everything["order"]
    response = staff_client.post(
        _admin_url(Order, "changelist"),
        {"action": "complete", "_selected_action": [order.pk]},
        follow=True,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
    assert "cannot become completed" in response.text


def _post_order_form(client, order, **fields):
    """Submit the order's change form as staff would, with its read-only inlines (items and
    notifications)."""
    item = order.items.get()
    form = {
        "customer_name": order.customer_name,
        "customer_phone": order.customer_phone,
        "fulfilment": order.fulfilment,
        "delivery_address": order.delivery_address,
        "notes": order.notes,
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "1",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-id": item.pk,
        "items-0-order": order.pk,
    }
    notifications = list(order.notifications.values_list("pk", flat=True))
    form.update(
        {
            "notifications-TOTAL_FORMS": str(len(notifications)),
            "notifications-INITIAL_FORMS": str(len(notifications)),
            "notifications-MIN_NUM_FORMS": "0",
            "notifications-MAX_NUM_FORMS": "1000",
        }
    )
    for i, pk in enumerate(notifications):
        form.update({f"notifications-{i}-id": pk, f"notifications-{i}-order": order.pk})
    return client.post(_admin_url(Order, "change", order.pk), {**form, **fields})


def test_staff_can_correct_a_customers_details_but_not_the_total(staff_client, one_of_everything):
    order = one_of_everything["order"]
    response = _post_order_form(
        staff_client,
        order,
        customer_name="Olena Kovalenko-Shevchenko",
        customer_phone="+380671234568",
        notes="Calls back after 18:00",
        total="1.00",
    )
    assert response.status_code == 302, response.content
    updated = Order.objects.get(pk=order.pk)
    assert updated.customer_name == "Olena Kovalenko-Shevchenko"
    assert updated.customer_phone == "+380671234568"
    assert updated.total == order.total


def test_a_bad_phone_number_is_rejected_by_the_form(staff_client, one_of_everything):
    order = one_of_everything["order"]
    response = _post_order_form(staff_client, order, customer_phone="067 123")
    assert response.status_code == 200
    assert "E.164" in response.text
    order.refresh_from_db()
    assert order.customer_phone == "+380671234567"
