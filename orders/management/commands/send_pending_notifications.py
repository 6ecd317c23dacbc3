"""Send the order notifications still pending (the embedded default has no worker to retry)."""

from django.core.management.base import BaseCommand

from orders.models import Notification, NotificationStatus
from orders.notifications import deliver


class Command(BaseCommand):
    help = "Send every pending order notification now, once each; report what failed."

    def handle(self, *args, **options) -> None:
        pending = Notification.objects.filter(status=NotificationStatus.PENDING)
        sent = failed = 0
        for notification_id in pending.order_by("created_at").values_list("pk", flat=True):
            try:
                sent += deliver(notification_id)
            except Exception as error:
                failed += 1
                self.stderr.write(f"notification {notification_id}: {error}")
        self.stdout.write(f"{sent} sent, {failed} failed (still pending)")
