"""Orders admin: staff find, check and move orders along their workflow (through the services)."""

import re

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import format_html

from callcenter.admin_search import BoundedSearchMixin
from callcenter.audit import log_action, log_export
from callcenter.csv_export import csv_response, dated_filename

from . import services
from .models import Notification, NotificationStatus, Order, OrderItem, OrderStatus

ORDER_CSV_HEADER = [
    "Number",
    "Created",
    "Status",
    "Customer name",
    "Phone",
    "Fulfilment",
    "Address",
    "Total",
    "Items",
    "Source call UUID",
]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fields = ["tire", "tire_size", "quantity", "unit_price", "line_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        # An order's lines are fixed when it is placed; a change is a new order.
        return False

    @admin.display(description="Size")
    def tire_size(self, item: OrderItem) -> str:
        return item.tire.size

    @admin.display(description="Line total")
    def line_total(self, item: OrderItem):
        return item.line_total


class NotificationInline(admin.TabularInline):
    """Who was told of the order, and whether it reached them."""

    model = Notification
    fields = ["channel", "audience", "status", "attempts", "last_error", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(BoundedSearchMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "created_at",
        "customer_name",
        "customer_phone",
        "status",
        "fulfilment",
        "total",
        "call_link",
        "sandbox",
    ]
    list_filter = ["status", "fulfilment", "sandbox", "created_at"]
    search_fields = ["number", "customer_phone", "customer_name"]
    date_hierarchy = "created_at"
    list_select_related = ["source_call"]
    readonly_fields = [
        "number",
        "status",
        "total",
        "call_link",
        "sandbox",
        "created_at",
        "updated_at",
        "status_changed_at",
    ]
    fieldsets = [
        (None, {"fields": ["number", "status", "total", "call_link", "sandbox"]}),
        (
            "Customer",
            {
                "fields": [
                    "customer_name",
                    "customer_phone",
                    "fulfilment",
                    "delivery_address",
                    "notes",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "status_changed_at", "updated_at"]}),
    ]
    inlines = [OrderItemInline, NotificationInline]
    actions = ["confirm", "complete", "cancel", "export_csv"]

    def has_add_permission(self, request) -> bool:
        # Orders are placed through orders.services (by the bot); staff confirm or cancel them.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # An order is cancelled, never deleted: the shop keeps its history and stock stays right.
        return False

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Staff type phone numbers as they hear them: "067 123-45-67".
        digits = re.sub(r"\D", "", search_term)
        if len(digits) >= 5 and digits != search_term:
            queryset |= self.model.objects.filter(customer_phone__contains=digits)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change) -> None:
        changed = {
            f: form.cleaned_data[f] for f in form.changed_data if f in services.EDITABLE_DETAILS
        }
        if changed:
            services.update_order_details(obj.pk, **changed)

    @admin.display(description="Call")
    def call_link(self, order: Order) -> str:
        if order.source_call_id is None:
            return "—"
        url = reverse("admin:calls_call_change", args=[order.source_call_id])
        return format_html('<a href="{}">{}</a>', url, str(order.source_call.uuid)[:8])

    def _change_status(self, request, queryset, status: str) -> None:
        changed = 0
        label = OrderStatus(status).label.lower()
        for order_id in queryset.values_list("pk", flat=True):
            try:
                order = services.change_status(order_id, status)
                changed += 1
                log_action(request, [order], f"Status: {label}. (admin action)")
            except services.OrderError as error:
                self.message_user(request, str(error), messages.WARNING)
        if changed:
            self.message_user(request, f"{changed} orders are now {label}.", messages.SUCCESS)

    @admin.action(description="Confirm the selected orders", permissions=["change"])
    def confirm(self, request, queryset) -> None:
        self._change_status(request, queryset, OrderStatus.CONFIRMED)

    @admin.action(description="Mark the selected orders completed", permissions=["change"])
    def complete(self, request, queryset) -> None:
        self._change_status(request, queryset, OrderStatus.COMPLETED)

    @admin.action(
        description="Cancel the selected orders (tires go back to stock)", permissions=["change"]
    )
    def cancel(self, request, queryset) -> None:
        self._change_status(request, queryset, OrderStatus.CANCELLED)

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("orders.export_order")

    @admin.action(description="Export the selected orders as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        items = OrderItem.objects.select_related("tire__brand").order_by("pk")
        orders = (
            Order.objects.filter(pk__in=queryset.values("pk"))
            .select_related("source_call")
            .prefetch_related(Prefetch("items", queryset=items))
            .order_by("-created_at")
        )
        log_export(request, Order, list(orders.values_list("number", flat=True)))
        rows = (_order_row(order) for order in orders.iterator(chunk_size=500))
        return csv_response(request, dated_filename("orders"), ORDER_CSV_HEADER, rows)


def _order_row(order: Order) -> list:
    items = "; ".join(
        f"{item.quantity} × {item.tire.brand.name} {item.tire.model} {item.tire.size}"
        for item in order.items.all()
    )
    return [
        order.number,
        order.created_at,
        order.get_status_display(),
        order.customer_name,
        order.customer_phone,
        order.get_fulfilment_display(),
        order.delivery_address,
        order.total,
        items,
        order.source_call.uuid if order.source_call else "",
    ]


@admin.register(Notification)
class NotificationAdmin(BoundedSearchMixin, admin.ModelAdmin):
    """The notifications outbox: staff see what failed and send it again once fixed."""

    list_display = [
        "created_at",
        "order_link",
        "channel",
        "audience",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    ]
    list_filter = ["status", "channel", "audience", "created_at"]
    search_fields = ["order__number"]
    list_select_related = ["order"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "order",
        "channel",
        "audience",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "last_attempt_at",
        "sent_at",
    ]
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Order", ordering="order__number")
    def order_link(self, notification: Notification) -> str:
        url = reverse("admin:orders_order_change", args=[notification.order_id])
        return format_html('<a href="{}">{}</a>', url, notification.order.number)

    @admin.action(
        description="Send the selected failed notifications again", permissions=["change"]
    )
    def send_again(self, request, queryset) -> None:
        from .tasks import queue_notifications

        ids = list(queryset.filter(status=NotificationStatus.FAILED).values_list("pk", flat=True))
        Notification.objects.filter(pk__in=ids).update(
            status=NotificationStatus.PENDING, attempts=0, claimed_until=None
        )
        log_action(request, Notification.objects.filter(pk__in=ids), "Queued again. (admin action)")
        queue_notifications(ids)
        self.message_user(request, f"{len(ids)} notifications queued again.", messages.SUCCESS)
