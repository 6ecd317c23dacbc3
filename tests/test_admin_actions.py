"""Every admin action, run by each kind of staff member: without the permission it is refused
and changes nothing; with it, it does its work.

The actions are read from the admin site itself, so an action added later without a
permission, or missing from the table below, fails these tests until someone decides who may
run it.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from calls.models import QuarantinedRecord
from catalog.models import Tire
from orders.models import Notification, NotificationStatus, Order, OrderStatus
from tests.factories import (
    make_brand,
    make_call,
    make_order,
    make_staff_member,
    make_staff_user,
    make_tire,
    make_turn,
)

pytestmark = pytest.mark.django_db

OPERATOR, MANAGER, NO_GROUP, SUPERUSER = "operator", "manager", "staff-without-group", "superuser"
ROLES = (OPERATOR, MANAGER, NO_GROUP, SUPERUSER)
BOTH_GROUPS = {OPERATOR, MANAGER, SUPERUSER}
MANAGERS = {MANAGER, SUPERUSER}
SUPERUSER_ONLY = {SUPERUSER}
NOBODY: set[str] = set()

# (app_label.model_name, action name) -> who may run it. Orders and notifications are never
# deleted (has_delete_permission is False for everyone, superusers included).
WHO_MAY_RUN = {
    ("catalog.brand", "delete_selected"): MANAGERS,
    ("catalog.tire", "activate"): MANAGERS,
    ("catalog.tire", "deactivate"): MANAGERS,
    ("catalog.tire", "delete_selected"): MANAGERS,
    ("orders.order", "confirm"): BOTH_GROUPS,
    ("orders.order", "complete"): BOTH_GROUPS,
    ("orders.order", "cancel"): BOTH_GROUPS,
    ("orders.order", "export_csv"): MANAGERS,
    ("orders.order", "delete_selected"): NOBODY,
    ("orders.notification", "send_again"): MANAGERS,
    ("orders.notification", "delete_selected"): NOBODY,
    ("calls.call", "export_csv"): MANAGERS,
    ("calls.call", "delete_selected"): SUPERUSER_ONLY,
    ("calls.turn", "delete_selected"): SUPERUSER_ONLY,
    ("calls.quarantinedrecord", "delete_selected"): SUPERUSER_ONLY,
    ("auth.user", "delete_selected"): SUPERUSER_ONLY,
    ("auth.group", "delete_selected"): SUPERUSER_ONLY,
    # django-axes' lock-out records (callcenter/admin.py)
    ("axes.accessattempt", "cleanup_expired_attempts"): SUPERUSER_ONLY,
    ("axes.accessattempt", "delete_selected"): SUPERUSER_ONLY,
    ("axes.accesslog", "delete_selected"): SUPERUSER_ONLY,
    ("axes.accessfailurelog", "delete_selected"): SUPERUSER_ONLY,
}


def _registered_actions() -> list[tuple[type, admin.ModelAdmin, str, object]]:
    found = []
    for model, model_admin in admin.site._registry.items():
        for func, name, _description in model_admin._get_base_actions():
            found.append((model, model_admin, name, func))
    return found


ACTIONS = _registered_actions()
# Models whose rows and admin history the actions could touch: checked before and after.
WATCHED_MODELS = [*admin.site._registry, LogEntry]


def _label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def test_every_registered_action_is_in_the_table_and_declares_a_permission_beyond_view():
    registered = {(_label(model), name) for model, _admin, name, _func in ACTIONS}
    assert registered == set(WHO_MAY_RUN), "an action was added or removed: update WHO_MAY_RUN"
    for model, _admin, name, func in ACTIONS:
        needed = set(getattr(func, "allowed_permissions", ()))
        # Viewing is not enough to change or export anything.
        assert needed - {"view"}, f"{_label(model)}.{name} declares no permission beyond view"


@pytest.fixture
def actor(request, client):
    """The staff member who runs the action, logged in before the data is made: so that it is
    never the newest user (the one a delete action selects), and so that axes' clean-up on
    login leaves the expired lock-out for the action to find."""
    role = request.param
    if role == SUPERUSER:
        user = make_staff_user()
    elif role == NO_GROUP:
        user = make_staff_member()
    else:
        user = make_staff_member("Operators" if role == OPERATOR else "Managers")
    client.force_login(user)
    return role


@pytest.fixture
def shop(actor):
    """Something for every action to act on; the newest row of each model can be deleted."""
    active = make_tire(sku="ACTIVE-1")
    make_tire(sku="INACTIVE-1", brand=active.brand, is_active=False)
    new = make_order(tire=active)
    confirmed = make_order(tire=active)
    Order.objects.filter(pk=confirmed.pk).update(status=OrderStatus.CONFIRMED)
    # The customer's SMS about the new order failed: the one "send again" picks up.
    assert Notification.objects.filter(order=new).update(status=NotificationStatus.FAILED)
    call = make_call(caller_number="+380671234567")
    make_turn(call)
    make_turn(make_call())
    QuarantinedRecord.objects.create(
        call_uuid=call.uuid, kind="turn", payload={"sequence": 1}, error="a refused value"
    )
    make_tire(sku="SPARE-1")  # no orders: deletable
    make_brand(name="Spare brand")  # no tires: deletable
    Group.objects.create(name="Spare group")
    get_user_model().objects.create_user("spare-user", password="unused password 1")
    # Login records: one lock-out long expired (what "clean up" removes), one of each log.
    expired = timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(hours=1)
    for model in (AccessLog, AccessFailureLog):
        model.objects.create(user_agent="test", ip_address="203.0.113.9", username="manager")
    attempt = AccessAttempt.objects.create(
        user_agent="test", ip_address="203.0.113.9", username="manager", failures_since_start=5
    )
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=expired)


def _snapshot() -> dict[str, list[dict]]:
    return {_label(m): list(m.objects.order_by("pk").values()) for m in WATCHED_MODELS}


def _run(client, model, name: str):
    """POST the action as the changelist's form would, for every row (or, for a deletion, the
    newest row, which nothing protects), confirming a deletion at once."""
    rows = model.objects.order_by("-pk").values_list("pk", flat=True)
    selected = [rows[0]] if name == "delete_selected" else list(rows)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": name, "_selected_action": selected, "post": "yes"})


def _is_download(response) -> bool:
    return "attachment" in response.get("Content-Disposition", "")


CASES = [
    pytest.param(model, name, role, id=f"{_label(model)}.{name}-as-{role}")
    for model, _admin, name, _func in ACTIONS
    for role in ROLES
]


@pytest.mark.parametrize(("model", "name", "actor"), CASES, indirect=["actor"])
def test_an_action_is_refused_without_its_permission_and_works_with_it(
    client, actor, shop, model, name
):
    role = actor
    before = _snapshot()
    response = _run(client, model, name)
    after = _snapshot()
    allowed = role in WHO_MAY_RUN[(_label(model), name)]
    if allowed:
        assert response.status_code in (200, 302), response.status_code
        assert _is_download(response) or after != before, f"{name} did nothing"
    else:
        assert response.status_code in (200, 302, 403), response.status_code
        assert not _is_download(response), "personal data exported without the permission"
        assert after == before, f"{name} changed the database without the permission"


def test_an_operator_cannot_take_the_catalog_off_sale(client):
    """The review's finding: one POST as an Operator deactivated every tire."""
    tires = [make_tire() for _ in range(3)]
    client.force_login(make_staff_member("Operators"))
    client.post(
        reverse("admin:catalog_tire_changelist"),
        {"action": "deactivate", "_selected_action": [t.pk for t in tires]},
    )
    assert Tire.objects.filter(is_active=True).count() == 3


def test_a_manager_takes_tires_off_sale_and_back(client):
    tires = [make_tire() for _ in range(3)]
    client.force_login(make_staff_member("Managers"))
    url = reverse("admin:catalog_tire_changelist")
    selected = [t.pk for t in tires[:2]]
    response = client.post(url, {"action": "deactivate", "_selected_action": selected}, follow=True)
    assert "2 tires are no longer offered." in response.text
    assert Tire.objects.filter(is_active=True).count() == 1
    client.post(url, {"action": "activate", "_selected_action": selected})
    assert Tire.objects.filter(is_active=True).count() == 3
