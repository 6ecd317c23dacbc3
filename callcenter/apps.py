"""The project's own app config: it registers the configuration checks."""

from django.apps import AppConfig


class CallCenterConfig(AppConfig):
    name = "callcenter"
    verbose_name = "Call center"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the checks)
