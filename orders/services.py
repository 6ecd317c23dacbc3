"""The only place an order is created or changed: the bot's tools, the admin and tasks call these.

Every function is one database transaction, safe under concurrency, and placing an order is
idempotent: a retried request with the same `request_key` returns the order it already made.

An order placed in a test call (the admin's test-call page) is a sandbox order unless the tester
ticked "place real orders": it is stored and linked to its call like any order, but takes no
stock, queues no notification and is left out of the reports.
"""

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Tire

from .models import Fulfilment, Order, OrderItem, OrderStatus

ORDER_NUMBER_DIGITS = 6
_NUMBER_ATTEMPTS = 20


class OrderError(Exception):
    """An order cannot be placed or changed as asked; the message says why, for staff or a bot."""


class OutOfStock(OrderError):
    pass


class InvalidTransition(OrderError):
    pass


@dataclass(frozen=True)
class Line:
    tire_id: int
    quantity: int


def place_order(
    *,
    customer_name: str,
    customer_phone: str,
    lines: Iterable[Line],
    fulfilment: str = Fulfilment.PICKUP,
    delivery_address: str = "",
    source_call_id: int | None = None,
    request_key: str | None = None,
    notes: str = "",
) -> Order:
    """Create an order, reserving its tires from stock, and return it.

    Raises OrderError (or OutOfStock) with a readable message when the order cannot be placed;
    nothing is written then.
    """
    if request_key:
        existing = Order.objects.filter(request_key=request_key).first()
        if existing:
            return existing
    lines = _merge_lines(lines)
    sandbox = is_sandbox_call(source_call_id)
    order = Order(
        customer_name=customer_name.strip(),
        customer_phone=customer_phone.strip(),
        fulfilment=fulfilment,
        delivery_address=delivery_address.strip(),
        source_call_id=source_call_id,
        request_key=request_key or None,
        notes=notes,
        sandbox=sandbox,
    )
    _validate_details(order)
    try:
        with transaction.atomic():
            tires = Tire.objects.in_bulk([line.tire_id for line in lines])
            items = []
            for line in lines:
                tire = tires.get(line.tire_id)
                if tire is None or not tire.is_active:
                    raise OrderError(f"Tire #{line.tire_id} is not in the catalog.")
                _take_from_stock(tire, line.quantity, sandbox=sandbox)
                items.append(OrderItem(tire=tire, quantity=line.quantity, unit_price=tire.price))
            order.total = sum((item.line_total for item in items), Decimal("0"))
            _save_with_new_number(order)
            for item in items:
                item.order = order
            OrderItem.objects.bulk_create(items)
            if not sandbox:
                _notify_after_commit(order)
    except IntegrityError:
        # Another request with the same key won the race: that order is the answer.
        if request_key:
            existing = Order.objects.filter(request_key=request_key).first()
            if existing:
                return existing
        raise
    return order


def is_sandbox_call(call_id: int | None) -> bool:
    """Orders of this call are sandbox: a test call whose tester did not allow real orders."""
    from calls.models import Call

    if call_id is None:
        return False
    return Call.objects.filter(pk=call_id, is_test=True, test_real_orders=False).exists()


def normalize_phone(text: str, country_code: str | None = None) -> str | None:
    """A phone number as a caller says or types it ("067 123 45 67", "+380 67 123 4567",
    "380671234567") in E.164 form, or None if it is not a valid number. A national number is
    read in the shop's country (PHONE_DEFAULT_COUNTRY_CODE)."""
    import phonenumbers
    from django.conf import settings

    code = int(country_code or settings.PHONE_DEFAULT_COUNTRY_CODE)
    region = phonenumbers.region_code_for_country_code(code)
    digits = re.sub(r"[^\d+]", "", text)
    if not digits:
        return None
    if not digits.startswith("+") and digits.startswith(str(code)) and len(digits) > 10:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def find_orders(*, number: str | None = None, phone: str | None = None, limit: int = 3):
    """Orders a caller asks about: by number, or the latest ones placed with a phone number."""
    orders = Order.objects.prefetch_related("items__tire__brand")
    if number:
        return list(orders.filter(number=number.strip()))
    if phone:
        return list(orders.filter(customer_phone=phone).order_by("-created_at")[:limit])
    return []


def change_status(order_id: int, status: str) -> Order:
    """Move an order along its workflow; cancelling returns its tires to stock."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status == status:
            return order
        if not order.can_change_to(status):
            raise InvalidTransition(
                f"Order {order.number} is {order.get_status_display().lower()}; "
                f"it cannot become {OrderStatus(status).label.lower()}."
            )
        if status == OrderStatus.CANCELLED and not order.sandbox:
            for item in order.items.all():
                Tire.objects.filter(pk=item.tire_id).update(
                    stock_quantity=F("stock_quantity") + item.quantity
                )
        order.status = status
        order.status_changed_at = timezone.now()
        order.save(update_fields=["status", "status_changed_at", "updated_at"])
    return order


EDITABLE_DETAILS = ("customer_name", "customer_phone", "fulfilment", "delivery_address", "notes")


def update_order_details(order_id: int, **details: str) -> Order:
    """Change the customer's details of an order (not its lines, total or status)."""
    unknown = set(details) - set(EDITABLE_DETAILS)
    if unknown:
        raise OrderError(
            f"These order fields cannot be changed here: {', '.join(sorted(unknown))}."
        )
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        for field, value in details.items():
            setattr(order, field, value.strip() if isinstance(value, str) else value)
        _validate_details(order)
        order.save(update_fields=[*details, "updated_at"])
    return order


def _notify_after_commit(order: Order) -> None:
    """The order's notifications are written with it (an outbox) and queued after commit."""
    from .notifications import plan_for
    from .tasks import queue_notifications

    ids = [notification.pk for notification in plan_for(order)]
    if ids:
        transaction.on_commit(lambda: queue_notifications(ids), robust=True)


def _merge_lines(lines: Iterable[Line]) -> list[Line]:
    quantities: dict[int, int] = {}
    for line in lines:
        if line.quantity < 1:
            raise OrderError("Each line needs a quantity of at least one tire.")
        quantities[line.tire_id] = quantities.get(line.tire_id, 0) + line.quantity
    if not quantities:
        raise OrderError("An order needs at least one tire.")
    return [Line(tire_id, quantity) for tire_id, quantity in quantities.items()]


def _validate_details(order: Order) -> None:
    if order.fulfilment == Fulfilment.DELIVERY and not order.delivery_address:
        raise OrderError("A delivery order needs a delivery address.")
    try:
        order.full_clean(
            exclude=["number", "status", "total", "source_call", "request_key"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        messages = [f"{field}: {' '.join(errs)}" for field, errs in error.message_dict.items()]
        raise OrderError("; ".join(messages)) from error


def _take_from_stock(tire: Tire, quantity: int, *, sandbox: bool = False) -> None:
    """Reserve the tires; a sandbox order only checks they are there (the stock is real)."""
    in_stock = Tire.objects.filter(pk=tire.pk, stock_quantity__gte=quantity)
    if sandbox:
        taken = in_stock.exists()
    else:
        taken = in_stock.update(stock_quantity=F("stock_quantity") - quantity)
    if not taken:
        tire.refresh_from_db(fields=["stock_quantity"])
        raise OutOfStock(
            f"Only {tire.stock_quantity} of {tire} in stock; {quantity} were asked for."
        )


def _save_with_new_number(order: Order) -> None:
    """Give the order a random all-digit number (easy to say and to key in) that is not taken."""
    for attempt in range(_NUMBER_ATTEMPTS):
        # After a few collisions the number space is crowded: widen it instead of looping.
        digits = ORDER_NUMBER_DIGITS + attempt // 5
        order.number = str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))
        if Order.objects.filter(number=order.number).exists():
            continue
        try:
            with transaction.atomic():
                order.save()
            return
        except IntegrityError:
            if order.request_key and Order.objects.filter(request_key=order.request_key).exists():
                raise
            order.pk = None
    raise OrderError("Could not find a free order number; try again.")
