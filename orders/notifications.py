"""Telling people about a new order: staff by email, SMS and a signed webhook; the customer by SMS.

`plan_for(order)` writes one Notification row per channel in the transaction that places the
order (an outbox), and `deliver(notification_id)` sends one of them at most once: it is what
the Celery task runs, with retries around it.
"""

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from .models import (
    Notification,
    NotificationAudience,
    NotificationChannel,
    NotificationStatus,
    Order,
)
from .sms import sms_backend

logger = logging.getLogger(__name__)

# How long a worker holds a notification it is sending: longer than any channel's time-out.
CLAIM_SECONDS = 120


class NotificationError(Exception):
    """A channel did not take the message (a webhook's error answer, say); retried later."""


def plan_for(order: Order) -> list[Notification]:
    """The notifications a new order needs under the current settings, saved as pending."""
    planned = []
    if settings.NOTIFY_STAFF_EMAILS:
        planned.append((NotificationChannel.EMAIL, NotificationAudience.STAFF))
    if settings.NOTIFY_WEBHOOK_URL:
        planned.append((NotificationChannel.WEBHOOK, NotificationAudience.STAFF))
    if settings.NOTIFY_STAFF_PHONES:
        planned.append((NotificationChannel.SMS, NotificationAudience.STAFF))
    if settings.NOTIFY_CUSTOMER_SMS:
        planned.append((NotificationChannel.SMS, NotificationAudience.CUSTOMER))
    return Notification.objects.bulk_create(
        [Notification(order=order, channel=c, audience=a) for c, a in planned]
    )


def deliver(notification_id: int) -> bool:
    """Send one pending notification; True if sent now, False if there was nothing to do
    (already sent, given up, or being sent by another worker right now).

    A worker claims the row for a while before sending (a conditional update), so a retry and
    the sweep never send it twice at once; no transaction stays open while a slow mail server
    or webhook answers. A failure is recorded on the row and raised for the task to retry.
    """
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
            attempts=F("attempts") + 1,
            last_attempt_at=now,
        )
    )
    if not claimed:
        return False
    notification = Notification.objects.select_related("order", "order__source_call").get(
        pk=notification_id
    )
    try:
        SENDERS[(notification.channel, notification.audience)](notification)
    except Exception as error:
        Notification.objects.filter(pk=notification_id).update(
            claimed_until=None, last_error=f"{type(error).__name__}: {error}"[:300]
        )
        raise
    Notification.objects.filter(pk=notification_id).update(
        status=NotificationStatus.SENT, sent_at=timezone.now(), claimed_until=None, last_error=""
    )
    return True


def give_up(notification_id: int, reason: str) -> None:
    """After the last retry: staff see it as failed in the admin and can send it again."""
    Notification.objects.filter(pk=notification_id, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.FAILED, last_error=reason[:300]
    )
    logger.error("notification %s given up: %s", notification_id, reason)


# --- What each message says -------------------------------------------------------------------


def _items(order: Order) -> list[str]:
    return [
        f"{item.quantity} × {item.tire.brand.name} {item.tire.model} {item.tire.size}"
        for item in order.items.select_related("tire__brand")
    ]


def _money(order: Order) -> str:
    return f"{order.total:.2f} {settings.SHOP_CURRENCY}"


def staff_text(order: Order) -> str:
    how = order.get_fulfilment_display()
    if order.delivery_address:
        how += f": {order.delivery_address}"
    lines = [
        f"New order {order.number} ({'by the phone bot' if order.source_call_id else 'by staff'})",
        f"Customer: {order.customer_name}, {order.customer_phone}",
        *_items(order),
        f"Total: {_money(order)}",
        how,
    ]
    if order.notes:
        lines.append(f"Notes: {order.notes}")
    if settings.ADMIN_BASE_URL:
        path = reverse("admin:orders_order_change", args=[order.pk])
        lines.append(settings.ADMIN_BASE_URL.rstrip("/") + path)
    return "\n".join(lines)


CUSTOMER_SMS = {
    "en": "{shop}: order {number} received, {count} tires, {total}. We will call you to confirm.",
    "uk": "{shop}: замовлення {number} прийнято, шин: {count}, {total}. Ми зателефонуємо, "
    "щоб підтвердити.",
    "ru": "{shop}: заказ {number} принят, шин: {count}, {total}. Мы позвоним, чтобы подтвердить.",
}


def customer_text(order: Order) -> str:
    language = order.source_call.language if order.source_call else settings.CALL_LANGUAGE
    template = CUSTOMER_SMS.get(language, CUSTOMER_SMS["en"])
    count = sum(item.quantity for item in order.items.all())
    return template.format(
        shop=settings.SHOP_NAME, number=order.number, count=count, total=_money(order)
    )


def webhook_payload(notification: Notification) -> dict:
    order = notification.order
    return {
        "event": "order.placed",
        "delivery": notification.pk,
        "order": {
            "number": order.number,
            "status": order.status,
            "customer_name": order.customer_name,
            "customer_phone": order.customer_phone,
            "fulfilment": order.fulfilment,
            "delivery_address": order.delivery_address,
            "total": str(order.total),
            "currency": settings.SHOP_CURRENCY,
            "items": [
                {
                    "sku": item.tire.sku,
                    "name": f"{item.tire.brand.name} {item.tire.model} {item.tire.size}",
                    "quantity": item.quantity,
                    "unit_price": str(item.unit_price),
                }
                for item in order.items.select_related("tire__brand")
            ],
            "source_call": str(order.source_call.uuid) if order.source_call else None,
            "created_at": order.created_at.isoformat(),
        },
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` and the HMAC-SHA256 of "<timestamp>.<body>" under the shared secret: the
    receiver recomputes it and rejects old timestamps, so a replayed request is refused."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


# --- Senders ----------------------------------------------------------------------------------


def _email_staff(notification: Notification) -> None:
    order = notification.order
    subject = f"New order {order.number}: {_money(order)}"
    send_mail(subject, staff_text(order), None, settings.NOTIFY_STAFF_EMAILS)


def _webhook_staff(notification: Notification) -> None:
    body = json.dumps(webhook_payload(notification), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Callcenter-Event": "order.placed",
        # The same for every retry of this notification: the receiver can drop duplicates.
        "X-Callcenter-Delivery": str(notification.pk),
        "X-Callcenter-Timestamp": timestamp,
    }
    if settings.NOTIFY_WEBHOOK_SECRET:
        headers["X-Callcenter-Signature"] = sign(settings.NOTIFY_WEBHOOK_SECRET, timestamp, body)
    response = httpx.post(
        settings.NOTIFY_WEBHOOK_URL, content=body, headers=headers, timeout=settings.NOTIFY_TIMEOUT
    )
    if not response.is_success:
        raise NotificationError(f"the webhook answered HTTP {response.status_code}")


def _sms_staff(notification: Notification) -> None:
    order = notification.order
    text = f"New order {order.number}: {order.customer_name}, {order.customer_phone}, "
    text += f"{'; '.join(_items(order))}, {_money(order)}"
    for phone in settings.NOTIFY_STAFF_PHONES:
        sms_backend().send(phone, text)


def _sms_customer(notification: Notification) -> None:
    order = notification.order
    sms_backend().send(order.customer_phone, customer_text(order))


SENDERS = {
    (NotificationChannel.EMAIL, NotificationAudience.STAFF): _email_staff,
    (NotificationChannel.WEBHOOK, NotificationAudience.STAFF): _webhook_staff,
    (NotificationChannel.SMS, NotificationAudience.STAFF): _sms_staff,
    (NotificationChannel.SMS, NotificationAudience.CUSTOMER): _sms_customer,
}
