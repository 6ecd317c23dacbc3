"""The admin's audit trail for bulk actions: LogEntry rows saying who did what to which rows.

Django logs what staff change through a form, not what an admin action does, nor what they
export; these add both, so the object's History page and the log show them.
"""

from collections.abc import Iterable, Sequence

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.http import HttpRequest


def log_action(request: HttpRequest, objects: Iterable[Model], message: str) -> None:
    """One CHANGE entry per object an action changed, in one INSERT."""
    objects = list(objects)
    if objects:
        LogEntry.objects.log_actions(request.user.pk, objects, CHANGE, message)


def log_export(request: HttpRequest, model: type[Model], identifiers: Sequence[str]) -> None:
    """One entry for a CSV export of personal data, naming every row it carried."""
    plural = model._meta.verbose_name_plural
    LogEntry.objects.create(
        user_id=request.user.pk,
        content_type=ContentType.objects.get_for_model(model),
        object_id=None,
        object_repr=f"CSV export of {len(identifiers)} {plural}"[:200],
        action_flag=CHANGE,
        change_message=f"Exported {len(identifiers)} {plural} as CSV: {', '.join(identifiers)}",
    )
