"""Orders taken by the bot (or staff): the order, its lines and its status workflow.

Orders are created and changed only through `orders.services`; the models hold the rules of one
row (which status may follow which) and nothing that writes.
"""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

e164_phone_validator = RegexValidator(
    regex=r"^\+[1-9]\d{6,14}$",
    message="Enter the phone number in E.164 form: '+' and 7 to 15 digits, e.g. +380671234567.",
)


class OrderStatus(models.TextChoices):
    NEW = "new", "New"
    CONFIRMED = "confirmed", "Confirmed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# The workflow: new → confirmed → completed, and new or confirmed → cancelled.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.NEW: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED}),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


class Fulfilment(models.TextChoices):
    PICKUP = "pickup", "Pickup at the shop"
    DELIVERY = "delivery", "Delivery"


class Order(models.Model):
    number = models.CharField(
        max_length=12, unique=True, editable=False, help_text="What the customer quotes: digits."
    )
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.NEW, editable=False
    )
    customer_name = models.CharField(max_length=120)
    customer_phone = models.CharField(max_length=16, validators=[e164_phone_validator])
    fulfilment = models.CharField(
        max_length=16, choices=Fulfilment.choices, default=Fulfilment.PICKUP
    )
    delivery_address = models.TextField(blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0, editable=False)
    source_call = models.ForeignKey(
        "calls.Call",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        editable=False,
        help_text="The phone call in which the bot took this order.",
    )
    request_key = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="Idempotency key: a retried request with the same key never makes a 2nd order.",
    )
    notes = models.TextField(blank=True)
    sandbox = models.BooleanField(
        default=False,
        editable=False,
        help_text="Placed in a test call without real orders: no stock taken, no notifications, "
        "left out of reports.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("export_order", "Can export orders as CSV")]
        indexes = [
            models.Index(fields=["customer_phone", "-created_at"], name="order_phone_idx"),
            models.Index(fields=["status", "-created_at"], name="order_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def can_change_to(self, status: str) -> bool:
        return status in STATUS_TRANSITIONS[self.status]


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    tire = models.ForeignKey("catalog.Tire", on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "tire"], name="orderitem_one_line_per_tire"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orderitem_quantity_min"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.tire}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity


class NotificationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"
    SMS = "sms", "SMS"


class NotificationAudience(models.TextChoices):
    STAFF = "staff", "Staff"
    CUSTOMER = "customer", "Customer"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One message about an order to send (an outbox row): written in the transaction that
    places the order, so it exists exactly when the order does, and sent by Celery until it
    is marked sent. A lost task or a broker outage only delays it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=8, choices=NotificationChannel.choices)
    audience = models.CharField(max_length=8, choices=NotificationAudience.choices)
    status = models.CharField(
        max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker sending it holds it until then, so a retry and the sweep never send it twice.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "channel", "audience"], name="notification_once_per_channel"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.audience} about {self.order_id}"
