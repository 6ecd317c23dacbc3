"""The Operators and Managers groups: set up after migrate, kept in sync, and what each may do."""

import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from callcenter.staff_groups import (
    MANAGER_PERMISSIONS,
    OPERATOR_PERMISSIONS,
    sync_after_migrate,
)
from catalog.models import Tire
from orders.models import OrderStatus
from tests.factories import make_order, make_staff_member, make_tire

pytestmark = pytest.mark.django_db


def _permissions_of(group_name: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=group_name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def _setup(*args) -> str:
    out = io.StringIO()
    call_command("setup_staff_groups", *args, stdout=out)
    return out.getvalue()


def test_after_migrate_both_groups_exist_with_their_permissions():
    assert _permissions_of("Operators") == set(OPERATOR_PERMISSIONS)
    assert _permissions_of("Managers") == set(MANAGER_PERMISSIONS)


def test_managers_can_do_everything_operators_can_and_more():
    assert set(OPERATOR_PERMISSIONS) < set(MANAGER_PERMISSIONS)
    extra = set(MANAGER_PERMISSIONS) - set(OPERATOR_PERMISSIONS)
    assert {"calls.export_call", "orders.export_order", "catalog.change_tire"} <= extra


def test_the_command_is_idempotent():
    first = _setup()
    second = _setup()
    assert first == second
    assert "Checked group Operators: 0 permissions added, 0 removed." in second
    assert Group.objects.filter(name__in=["Operators", "Managers"]).count() == 2
    assert _permissions_of("Operators") == set(OPERATOR_PERMISSIONS)


def test_the_command_creates_missing_groups():
    Group.objects.filter(name="Managers").delete()
    assert "Created group Managers" in _setup()
    assert _permissions_of("Managers") == set(MANAGER_PERMISSIONS)


def test_the_command_brings_drifted_groups_back_and_leaves_other_groups_alone():
    operators = Group.objects.get(name="Operators")
    operators.permissions.remove(Permission.objects.get(codename="change_order"))
    operators.permissions.add(Permission.objects.get(codename="delete_tire"))
    support = Group.objects.create(name="Support")
    support.permissions.add(Permission.objects.get(codename="delete_tire"))
    output = _setup()
    assert "Checked group Operators: 1 permissions added, 1 removed." in output
    assert _permissions_of("Operators") == set(OPERATOR_PERMISSIONS)
    assert _permissions_of("Support") == {"catalog.delete_tire"}


def test_the_command_explains_when_permissions_do_not_exist_yet():
    Permission.objects.filter(codename="view_live_calls").delete()
    with pytest.raises(CommandError, match=r"calls\.view_live_calls.*migrate"):
        _setup()


def test_the_migrate_hook_waits_quietly_until_every_permission_exists():
    Permission.objects.filter(codename="export_order").delete()
    Group.objects.filter(name__in=["Operators", "Managers"]).delete()
    sync_after_migrate(sender=apps.get_app_config("calls"), using="default")
    assert not Group.objects.filter(name__in=["Operators", "Managers"]).exists()


def test_the_migrate_hook_sets_the_groups_up_once_the_apps_are_migrated():
    Group.objects.filter(name__in=["Operators", "Managers"]).delete()
    sync_after_migrate(sender=apps.get_app_config("sessions"), using="default")
    assert not Group.objects.filter(name="Operators").exists()  # not an app the groups use
    sync_after_migrate(sender=apps.get_app_config("calls"), using="default")
    assert _permissions_of("Operators") == set(OPERATOR_PERMISSIONS)


# --- What a member of each group can do in the admin ------------------------------------------


@pytest.fixture
def operator(client):
    client.force_login(make_staff_member("Operators"))
    return client


@pytest.fixture
def manager(client):
    client.force_login(make_staff_member("Managers"))
    return client


def _tire_form(tire: Tire, **changes) -> dict:
    form = {
        "sku": tire.sku,
        "brand": tire.brand_id,
        "model": tire.model,
        "is_active": "on",
        "width": tire.width,
        "profile": tire.profile,
        "rim_diameter": tire.rim_diameter,
        "season": tire.season,
        "load_index": tire.load_index,
        "speed_index": tire.speed_index,
        "price": tire.price,
        "stock_quantity": tire.stock_quantity,
    }
    return {**form, **changes}


def test_an_operator_confirms_an_order_through_the_admin_action(operator):
    order = make_order()
    response = operator.post(
        reverse("admin:orders_order_changelist"),
        {"action": "confirm", "_selected_action": [order.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 orders are now confirmed." in response.text
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_an_operator_sees_calls_orders_and_the_catalog(operator):
    for name in ("calls_call", "calls_turn", "orders_order", "catalog_tire", "catalog_brand"):
        assert operator.get(reverse(f"admin:{name}_changelist")).status_code == 200, name
    assert operator.get(reverse("admin:calls_call_reports")).status_code == 200


def test_an_operator_cannot_edit_a_tire(operator):
    tire = make_tire()
    url = reverse("admin:catalog_tire_change", args=[tire.pk])
    assert operator.get(url).status_code == 200  # read-only view
    response = operator.post(url, _tire_form(tire, price="1.00"))
    assert response.status_code == 403
    tire.refresh_from_db()
    assert tire.price == Decimal("2850.00")
    assert operator.get(reverse("admin:catalog_tire_add")).status_code == 403


def test_a_manager_can_edit_a_tire(manager):
    tire = make_tire()
    url = reverse("admin:catalog_tire_change", args=[tire.pk])
    response = manager.post(url, _tire_form(tire, price="3100.00"))
    assert response.status_code == 302, response.content
    tire.refresh_from_db()
    assert tire.price == Decimal("3100.00")


def test_a_manager_confirms_orders_too(manager):
    order = make_order()
    manager.post(
        reverse("admin:orders_order_changelist"),
        {"action": "confirm", "_selected_action": [order.pk]},
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_staff_who_may_only_view_orders_cannot_change_their_status(client):
    client.force_login(make_staff_member(permissions=("orders.view_order",)))
    order = make_order()
    client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "cancel", "_selected_action": [order.pk]},
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.NEW
