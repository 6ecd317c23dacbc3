"""The staff groups and what each may do: one list, applied after migrate and by a command."""

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

OPERATOR_PERMISSIONS = (
    "calls.view_call",
    "calls.view_turn",
    "calls.view_live_calls",
    "orders.view_order",
    "orders.change_order",  # confirm, complete, cancel; correct the customer's details
    "orders.view_orderitem",
    "orders.view_notification",
    "catalog.view_brand",
    "catalog.view_tire",
)

MANAGER_PERMISSIONS = (
    *OPERATOR_PERMISSIONS,
    *(
        f"catalog.{action}_{model}"
        for model in ("brand", "tire")
        for action in ("add", "change", "delete")
    ),
    "calls.export_call",
    "orders.export_order",
    # Send a failed notification again once its channel is fixed.
    "orders.change_notification",
    # Talk to the bot from the admin's test-call page (its orders are sandbox unless ticked).
    "calls.place_test_call",
)

STAFF_GROUPS: dict[str, tuple[str, ...]] = {
    "Operators": OPERATOR_PERMISSIONS,
    "Managers": MANAGER_PERMISSIONS,
}

# The apps whose permissions the groups hold: the groups are set up once all of them exist.
APPS = frozenset(name.split(".")[0] for names in STAFF_GROUPS.values() for name in names)


class PermissionsMissing(Exception):
    """Some permissions the groups need do not exist yet: the apps are not migrated."""


@dataclass(frozen=True)
class GroupChange:
    group: str
    created: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]


def sync_staff_groups(using: str = "default") -> list[GroupChange]:
    """Create the groups and give each exactly the permissions listed here, nothing else.

    Only these groups are touched; run it any number of times. Raises PermissionsMissing
    (and changes nothing) when a listed permission does not exist.
    """
    permissions = _permissions_by_name(using)
    missing = {name for names in STAFF_GROUPS.values() for name in names} - set(permissions)
    if missing:
        raise PermissionsMissing(", ".join(sorted(missing)))
    changes = []
    with transaction.atomic(using=using):
        for group_name, names in STAFF_GROUPS.items():
            group, created = Group.objects.using(using).get_or_create(name=group_name)
            current = {
                f"{app}.{codename}"
                for app, codename in group.permissions.values_list(
                    "content_type__app_label", "codename"
                )
            }
            wanted = set(names)
            if current != wanted:
                group.permissions.set([permissions[name] for name in wanted])
            changes.append(
                GroupChange(
                    group_name,
                    created,
                    tuple(sorted(wanted - current)),
                    tuple(sorted(current - wanted)),
                )
            )
    return changes


def sync_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: sync once the apps holding the permissions are migrated.

    Django sends post_migrate once per app, after auth has created that app's permissions;
    until every app the groups draw on has had its turn, some are missing and this waits.
    """
    if sender.label not in APPS:
        return
    try:
        sync_staff_groups(using)
    except PermissionsMissing:
        return


def _permissions_by_name(using: str) -> dict[str, Permission]:
    rows = Permission.objects.using(using).filter(content_type__app_label__in=APPS)
    return {
        f"{p.content_type.app_label}.{p.codename}": p for p in rows.select_related("content_type")
    }
