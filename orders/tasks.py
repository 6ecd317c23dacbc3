"""Celery tasks of the orders app: the notifications about a new order."""

import logging
import random
import smtplib
from datetime import timedelta

import httpx
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from callcenter.publisher import publish

from . import notifications
from .models import Notification, NotificationStatus
from .sms import SMSError

logger = logging.getLogger(__name__)

# A channel that is briefly away (mail server, webhook receiver, SMS gateway, the database):
# retried with back-off for about two hours, then marked failed for staff to see.
RETRIED = (
    notifications.NotificationError,
    InterfaceError,
    OperationalError,
    SMSError,
    smtplib.SMTPException,
    httpx.HTTPError,
    OSError,
)
MAX_RETRIES = 12


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def send_notification(self, notification_id: int) -> bool:
    try:
        return notifications.deliver(notification_id)
    except RETRIED as error:
        if self.request.retries >= self.max_retries:
            notifications.give_up(notification_id, f"{type(error).__name__}: {error}")
            return False
        if self.request.is_eager:
            # The embedded default has no broker to wait on: the row stays pending with its
            # error, and `manage.py send_pending_notifications` (or a worker) sends it later.
            logger.warning("notification %s not sent: %s", notification_id, error)
            return False
        # 10 s, 20 s, 40 s ... up to 20 minutes between tries, with jitter so that a
        # recovered server is not hit by every waiting notification at the same moment.
        countdown = min(10 * 2**self.request.retries, 1200)
        raise self.retry(exc=error, countdown=countdown * (0.8 + 0.4 * random.random())) from error


@shared_task
def send_pending_notifications(limit: int = 500) -> int:
    """The sweep: queue notifications still pending well after their order was placed (their
    task never reached the broker, or was lost with a worker). Runs every minute under beat."""
    now = timezone.now()
    pending = Notification.objects.filter(
        status=NotificationStatus.PENDING,
        created_at__lt=now - timedelta(seconds=settings.NOTIFY_SWEEP_MIN_AGE),
    ).exclude(claimed_until__gt=now)
    ids = list(pending.order_by("created_at").values_list("pk", flat=True)[:limit])
    for notification_id in ids:
        send_notification.delay(notification_id)
    if ids:
        logger.info("sweep: %d pending notifications queued again", len(ids))
    return len(ids)


def queue_notifications(notification_ids: list[int]) -> None:
    """Queue the tasks (after the order's transaction commits) without waiting on the broker:
    when it is away or hung the rows stay pending and the sweep sends them once it is back, so
    the order, and the caller told it is placed, are never held up."""
    for notification_id in notification_ids:
        publish(send_notification, notification_id, what=f"notification {notification_id}")
