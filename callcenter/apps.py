"""The project's own app config: it registers the configuration checks and staff groups."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CallCenterConfig(AppConfig):
    name = "callcenter"
    verbose_name = "Call center"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
        from .staff_groups import sync_after_migrate

        post_migrate.connect(sync_after_migrate, dispatch_uid="callcenter.staff_groups")
