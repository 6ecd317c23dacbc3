"""django-axes' lock-out records in the admin, with its one action behind a permission."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.utils import timezone


class LockOutAdmin(AccessAttemptAdmin):
    # Axes declares "clean up expired attempts" without a permission, so anyone who may view
    # the list could run it, and its own version fails outside a login request (it reads
    # request.axes_attempt_time). It deletes rows: it needs the delete permission.
    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset) -> None:
        threshold = timezone.now() - settings.AXES_COOLOFF_TIME
        count, _ = queryset.filter(attempt_time__lte=threshold).delete()
        self.message_user(request, f"Cleaned up {count} expired access attempts.")


admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, LockOutAdmin)
