"""Placing and changing orders through orders.services, the only door to them."""

import pytest

from catalog.models import Tire
from orders import services
from orders.models import Fulfilment, Order, OrderStatus
from tests.factories import make_call, make_order, make_tire

pytestmark = pytest.mark.django_db


def test_placing_an_order_reserves_stock_and_totals_the_lines():
    summer = make_tire(price="2850.00", stock_quantity=10)
    winter = make_tire(season="winter", studded=True, price="3100.50", stock_quantity=4)
    call = make_call()
    order = services.place_order(
        customer_name="  Taras Melnyk ",
        customer_phone="+380501234567",
        lines=[
            services.Line(summer.pk, 4),
            services.Line(winter.pk, 2),
            services.Line(summer.pk, 1),
        ],
        source_call_id=call.pk,
    )
    assert order.customer_name == "Taras Melnyk"
    assert order.status == OrderStatus.NEW
    assert order.number.isdigit() and len(order.number) == 6
    assert order.source_call == call
    assert str(order.total) == "20451.00"  # 5 × 2850.00 + 2 × 3100.50
    assert {(i.tire_id, i.quantity) for i in order.items.all()} == {(summer.pk, 5), (winter.pk, 2)}
    assert Tire.objects.get(pk=summer.pk).stock_quantity == 5
    assert Tire.objects.get(pk=winter.pk).stock_quantity == 2


def test_a_retried_request_returns_the_same_order():
    tire = make_tire(stock_quantity=10)
    first = make_order(tire=tire, quantity=4, request_key="call-1:turn-7")
    again = make_order(tire=tire, quantity=4, request_key="call-1:turn-7")
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert Tire.objects.get(pk=tire.pk).stock_quantity == 6


def test_asking_for_more_than_the_stock_places_nothing():
    plenty = make_tire(stock_quantity=10)
    scarce = make_tire(stock_quantity=2)
    with pytest.raises(services.OutOfStock, match="Only 2 of"):
        services.place_order(
            customer_name="Ivan",
            customer_phone="+380671112233",
            lines=[services.Line(plenty.pk, 4), services.Line(scarce.pk, 4)],
        )
    assert Order.objects.count() == 0
    assert Tire.objects.get(pk=plenty.pk).stock_quantity == 10


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"customer_phone": "0671234567"}, "E.164"),
        ({"customer_name": ""}, "customer_name"),
        ({"fulfilment": Fulfilment.DELIVERY}, "delivery address"),
    ],
)
def test_an_order_with_bad_details_is_refused_with_a_reason(fields, message):
    tire = make_tire()
    with pytest.raises(services.OrderError, match=message):
        make_order(tire=tire, **fields)
    assert Order.objects.count() == 0
    assert Tire.objects.get(pk=tire.pk).stock_quantity == 12


def test_inactive_tires_cannot_be_ordered():
    tire = make_tire(is_active=False)
    with pytest.raises(services.OrderError, match="not in the catalog"):
        make_order(tire=tire)


def test_an_empty_order_is_refused():
    with pytest.raises(services.OrderError, match="at least one tire"):
        services.place_order(customer_name="Ivan", customer_phone="+380671112233", lines=[])


def test_the_status_workflow_allows_only_forward_moves():
    order = make_order()
    assert services.change_status(order.pk, OrderStatus.CONFIRMED).status == "confirmed"
    assert services.change_status(order.pk, OrderStatus.COMPLETED).status == "completed"
    with pytest.raises(services.InvalidTransition, match="cannot become cancelled"):
        services.change_status(order.pk, OrderStatus.CANCELLED)
    with pytest.raises(services.InvalidTransition):
        services.change_status(order.pk, OrderStatus.NEW)


def test_cancelling_returns_the_tires_to_stock_once():
    tire = make_tire(stock_quantity=8)
    order = make_order(tire=tire, quantity=4)
    services.change_status(order.pk, OrderStatus.CANCELLED)
    services.change_status(order.pk, OrderStatus.CANCELLED)  # a repeated click changes nothing
    assert Tire.objects.get(pk=tire.pk).stock_quantity == 8
    assert Order.objects.get(pk=order.pk).status_changed_at is not None


def test_only_customer_details_can_be_updated():
    order = make_order()
    services.update_order_details(order.pk, customer_name="Olena K.", notes="Ring first")
    order.refresh_from_db()
    assert (order.customer_name, order.notes) == ("Olena K.", "Ring first")
    with pytest.raises(services.OrderError, match="cannot be changed here: total"):
        services.update_order_details(order.pk, total="1.00")


@pytest.mark.parametrize(
    ("said", "e164"),
    [
        ("067 123 45 67", "+380671234567"),
        ("+380 67 123 4567", "+380671234567"),
        ("380671234567", "+380671234567"),
        ("(093) 555-12-34", "+380935551234"),
        ("+1 212 555 0100", "+12125550100"),
        ("12345", None),
        ("067 123", None),
    ],
)
def test_phone_numbers_are_read_in_the_shops_country(said, e164):
    from orders.services import normalize_phone

    assert normalize_phone(said) == e164
