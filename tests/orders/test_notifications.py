"""Notifications of a new order: who hears of it, what they read, and that none is lost or sent
twice when a channel is away. Tasks run in-process here; tests/test_celery_worker.py runs them
in a real worker on Redis."""

import json

import pytest
from django.core import mail

from orders import notifications
from orders.models import Notification, NotificationChannel, NotificationStatus
from orders.sms import LocmemSMSBackend, sms_backend
from orders.tasks import MAX_RETRIES, send_notification, send_pending_notifications
from tests.factories import make_call, make_order, make_tire
from tests.helpers.fake_receivers import SMS_TOKEN, FakeReceivers

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(settings, receivers):
    """Every channel on: staff email, webhook and SMS, and the customer's SMS."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFY_STAFF_EMAILS = ["manager@shop.example"]
    settings.NOTIFY_WEBHOOK_URL = receivers.webhook_url
    settings.NOTIFY_WEBHOOK_SECRET = "webhook-secret"
    settings.NOTIFY_STAFF_PHONES = ["+380501112233"]
    settings.NOTIFY_CUSTOMER_SMS = True
    settings.SMS_BACKEND = "orders.sms.LocmemSMSBackend"
    settings.ADMIN_BASE_URL = "https://callcenter.example.com"
    LocmemSMSBackend.outbox = []
    sms_backend.cache_clear()
    yield receivers
    sms_backend.cache_clear()


def test_a_new_order_tells_staff_and_the_customer(channels, django_capture_on_commit_callbacks):
    tire = make_tire(model="X-Ice North 4", sku="MX-1")
    call = make_call(language="uk")
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order(tire=tire, quantity=4, source_call_id=call.pk)

    assert [n.status for n in order.notifications.all()] == [NotificationStatus.SENT] * 4

    (email,) = mail.outbox
    assert email.to == ["manager@shop.example"]
    assert order.number in email.subject
    assert f"4 × {tire.brand.name} X-Ice North 4 205/55 R16" in email.body
    assert "Olena Kovalenko, +380671234567" in email.body
    assert f"https://callcenter.example.com/admin/orders/order/{order.pk}/change/" in email.body

    (hook,) = channels.received(FakeReceivers.WEBHOOK)
    payload = json.loads(hook.body)
    assert payload["event"] == "order.placed"
    assert payload["order"]["number"] == order.number
    assert payload["order"]["items"][0] == {
        "sku": "MX-1",
        "name": f"{tire.brand.name} X-Ice North 4 205/55 R16",
        "quantity": 4,
        "unit_price": "2850.00",
    }
    expected = notifications.sign(
        "webhook-secret", hook.headers["x-callcenter-timestamp"], hook.body
    )
    assert hook.headers["x-callcenter-signature"] == expected

    staff_sms, customer_sms = sorted(LocmemSMSBackend.outbox)
    assert staff_sms[0] == "+380501112233" and order.number in staff_sms[1]
    # The customer is told in the language of the call in which they ordered.
    assert customer_sms[0] == "+380671234567"
    assert f"замовлення {order.number} прийнято" in customer_sms[1]
    assert "11400.00 UAH" in customer_sms[1]


def test_a_retried_order_request_notifies_once(channels, django_capture_on_commit_callbacks):
    tire = make_tire()
    with django_capture_on_commit_callbacks(execute=True):
        first = make_order(tire=tire, request_key="call-1:order")
    with django_capture_on_commit_callbacks(execute=True):
        again = make_order(tire=tire, request_key="call-1:order")
    assert again == first
    assert Notification.objects.count() == 4
    assert len(mail.outbox) == 1 and len(LocmemSMSBackend.outbox) == 2


def test_only_the_configured_channels_are_used(settings, channels):
    settings.NOTIFY_STAFF_EMAILS = []
    settings.NOTIFY_WEBHOOK_URL = ""
    settings.NOTIFY_STAFF_PHONES = []
    order = make_order()
    assert [(n.channel, n.audience) for n in order.notifications.all()] == [
        (NotificationChannel.SMS, "customer")
    ]


def test_a_mail_server_that_is_away_loses_no_notification(settings, channels):
    settings.NOTIFY_WEBHOOK_URL = ""
    settings.NOTIFY_STAFF_PHONES = []
    settings.NOTIFY_CUSTOMER_SMS = False
    # Nothing listens on port 1: a real refused SMTP connection.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    order = make_order()
    (notification,) = order.notifications.all()

    assert send_notification.apply(args=[notification.pk]).get() is False
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert notification.attempts == 1
    assert "Connection refused" in notification.last_error

    # The mail server is back: the sweep sends what is still pending, once.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFY_SWEEP_MIN_AGE = 0
    assert send_pending_notifications.apply().get() == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT and notification.attempts == 2
    assert send_pending_notifications.apply().get() == 0
    assert len(mail.outbox) == 1


def test_a_webhook_error_answer_is_recorded_and_retried(settings, channels):
    settings.NOTIFY_STAFF_EMAILS = []
    settings.NOTIFY_STAFF_PHONES = []
    settings.NOTIFY_CUSTOMER_SMS = False
    order = make_order()
    (notification,) = order.notifications.all()
    channels.fail_next(503)
    with pytest.raises(notifications.NotificationError, match="HTTP 503"):
        notifications.deliver(notification.pk)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert notification.last_error == "NotificationError: the webhook answered HTTP 503"
    assert notifications.deliver(notification.pk) is True
    # Every try of one notification carries the same delivery id, so a receiver can de-dupe.
    ids = {r.headers["x-callcenter-delivery"] for r in channels.requests}
    assert ids == {str(notification.pk)}


def test_a_notification_is_never_sent_twice(channels):
    order = make_order()
    notification = order.notifications.get(audience="customer")
    assert notifications.deliver(notification.pk) is True
    assert notifications.deliver(notification.pk) is False
    assert send_notification.apply(args=[notification.pk]).get() is False
    assert len(LocmemSMSBackend.outbox) == 1


def test_a_notification_another_worker_is_sending_is_left_to_it(channels):
    from datetime import timedelta

    from django.utils import timezone

    order = make_order()
    notification = order.notifications.get(audience="customer")
    Notification.objects.filter(pk=notification.pk).update(
        claimed_until=timezone.now() + timedelta(seconds=60)
    )
    assert notifications.deliver(notification.pk) is False
    assert LocmemSMSBackend.outbox == []


def test_after_the_last_retry_staff_see_it_failed(settings, channels):
    settings.SMS_BACKEND = "orders.sms.HTTPSMSBackend"
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:1/sms"
    sms_backend.cache_clear()
    order = make_order()
    notification = order.notifications.get(audience="customer")
    assert send_notification.apply(args=[notification.pk], retries=MAX_RETRIES).get() is False
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error.startswith("SMSError: SMS gateway unreachable")


def test_the_http_sms_gateway_gets_the_message_with_its_token(settings, channels):
    settings.SMS_BACKEND = "orders.sms.HTTPSMSBackend"
    settings.SMS_GATEWAY_URL = channels.sms_url
    settings.SMS_GATEWAY_TOKEN = SMS_TOKEN
    sms_backend.cache_clear()
    order = make_order()
    notification = order.notifications.get(audience="customer")
    assert notifications.deliver(notification.pk) is True
    (sms,) = channels.received(FakeReceivers.SMS)
    assert sms.json["to"] == "+380671234567"
    assert sms.json["text"].startswith(f"Tire Shop: order {order.number} received, 4 tires")


def test_a_manager_sends_a_failed_notification_again_from_the_admin(client, channels):
    from tests.factories import make_staff_member

    order = make_order()
    notification = order.notifications.get(audience="customer")
    notifications.give_up(notification.pk, "SMSError: gateway down")
    operator = make_staff_member("Operators")
    client.force_login(operator)
    url = "/admin/orders/notification/"
    page = client.get(url)
    assert page.status_code == 200 and "gateway down" in page.content.decode()
    action = {"action": "send_again", "_selected_action": [notification.pk]}
    client.post(url, action)
    assert Notification.objects.get(pk=notification.pk).status == NotificationStatus.FAILED

    client.force_login(make_staff_member("Managers"))
    client.post(url, action)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert LocmemSMSBackend.outbox[-1][0] == "+380671234567"
    page = client.get(f"/admin/orders/order/{order.pk}/change/")
    assert "Sent" in page.content.decode()
