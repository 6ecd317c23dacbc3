"""Calls admin: every call with its transcript in time order, for staff to review."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .models import Call, Turn


def _offset(ms: int | None) -> str:
    if ms is None:
        return "—"
    seconds = ms // 1000
    return f"{seconds // 60}:{seconds % 60:02d}.{ms % 1000 // 100}"


class ReadOnlyAdminMixin:
    """Calls and turns are records of what happened: staff read them, nobody edits them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class TurnInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Turn
    fields = ["at", "role", "via", "text", "interrupted", "confidence", "latency"]
    readonly_fields = fields
    ordering = ["sequence"]
    extra = 0
    can_delete = False
    verbose_name = "turn"
    verbose_name_plural = "Transcript"

    @admin.display(description="At")
    def at(self, turn: Turn) -> str:
        return _offset(turn.start_ms)

    @admin.display(description="Reply latency")
    def latency(self, turn: Turn) -> str:
        return f"{turn.total_ms} ms" if turn.total_ms is not None else ""


@admin.register(Call)
class CallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "started_at",
        "short_uuid",
        "caller_number",
        "duration_display",
        "status",
        "outcome",
        "language",
        "turn_count",
        "order_links",
    ]
    list_filter = ["status", "outcome", "language", "started_at"]
    search_fields = ["uuid", "caller_number", "orders__number"]
    date_hierarchy = "started_at"
    fieldsets = [
        (None, {"fields": ["uuid", "caller_number", "language", "sample_rate"]}),
        ("Result", {"fields": ["status", "outcome", "end_reason", "order_links"]}),
        ("Timing", {"fields": ["started_at", "answered_at", "ended_at", "duration_display"]}),
    ]
    readonly_fields = ["order_links", "duration_display"]
    inlines = [TurnInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(turn_count=Count("turns", distinct=True))
            .prefetch_related("orders")
        )

    @admin.display(description="UUID", ordering="uuid")
    def short_uuid(self, call: Call) -> str:
        return str(call.uuid)[:8]

    @admin.display(description="Duration")
    def duration_display(self, call: Call) -> str:
        duration = call.duration
        return _offset(int(duration.total_seconds() * 1000)) if duration else "—"

    @admin.display(description="Turns", ordering="turn_count")
    def turn_count(self, call: Call) -> int:
        return call.turn_count

    @admin.display(description="Orders")
    def order_links(self, call: Call) -> str:
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a>',
                (
                    (reverse("admin:orders_order_change", args=[o.pk]), o.number)
                    for o in call.orders.all()
                ),
            )
            or "—"
        )


@admin.register(Turn)
class TurnAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Search what callers said across all calls."""

    list_display = ["created_at", "call_link", "sequence", "role", "via", "text", "total_ms"]
    list_filter = ["role", "via", "interrupted", "created_at"]
    search_fields = ["text", "call__uuid", "call__caller_number"]
    list_select_related = ["call"]
    date_hierarchy = "created_at"

    @admin.display(description="Call")
    def call_link(self, turn: Turn) -> str:
        url = reverse("admin:calls_call_change", args=[turn.call_id])
        return format_html('<a href="{}">{}</a>', url, str(turn.call.uuid)[:8])
