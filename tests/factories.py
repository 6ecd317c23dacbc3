"""Small factories for tests: each makes one valid row with overridable fields."""

import itertools
import uuid
from decimal import Decimal

from django.contrib.auth import get_user_model

from calls.models import Call, Turn, TurnRole
from catalog.models import Brand, Season, Tire
from orders import services
from orders.models import Order

_sequence = itertools.count(1)


def make_brand(**fields) -> Brand:
    fields.setdefault("name", f"Brand {next(_sequence)}")
    return Brand.objects.create(**fields)


def make_tire(**fields) -> Tire:
    n = next(_sequence)
    if "brand" not in fields:
        fields["brand"] = make_brand()
    defaults = {
        "sku": f"SKU-{n:05d}",
        "model": "Test Grip",
        "width": 205,
        "profile": 55,
        "rim_diameter": 16,
        "season": Season.SUMMER,
        "load_index": 91,
        "speed_index": "V",
        "price": Decimal("2850.00"),
        "stock_quantity": 12,
    }
    return Tire.objects.create(**{**defaults, **fields})


def make_call(**fields) -> Call:
    fields.setdefault("uuid", uuid.uuid4())
    return Call.objects.create(**fields)


def make_turn(call: Call, **fields) -> Turn:
    sequence = fields.pop("sequence", call.turns.count())
    defaults = {
        "role": TurnRole.CALLER,
        "text": "I need winter tires 205/55 R16",
        "start_ms": sequence * 3000,
        "end_ms": sequence * 3000 + 2500,
    }
    return Turn.objects.create(call=call, sequence=sequence, **{**defaults, **fields})


def make_order(*, tire: Tire | None = None, quantity: int = 4, **fields) -> Order:
    tire = tire or make_tire()
    fields.setdefault("customer_name", "Olena Kovalenko")
    fields.setdefault("customer_phone", "+380671234567")
    return services.place_order(lines=[services.Line(tire.pk, quantity)], **fields)


def make_staff_user(**fields):
    fields.setdefault("username", f"staff{next(_sequence)}")
    return get_user_model().objects.create_superuser(password="correct horse battery", **fields)


def make_staff_member(*group_names: str, permissions: tuple[str, ...] = (), **fields):
    """A staff user (not a superuser) in the named groups, with any extra "app.codename" perms."""
    from django.contrib.auth.models import Group, Permission

    fields.setdefault("username", f"member{next(_sequence)}")
    user = get_user_model().objects.create_user(
        password="correct horse battery", is_staff=True, **fields
    )
    user.groups.set(Group.objects.filter(name__in=group_names))
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user
