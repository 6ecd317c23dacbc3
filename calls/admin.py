"""Calls admin: every call with its transcript in time order, the manager's reports, CSV export."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from callcenter.admin_search import BoundedSearchMixin
from callcenter.audit import log_export
from callcenter.csv_export import csv_response, dated_filename

from . import reports
from .models import Call, QuarantinedRecord, Turn, TurnRole
from .playground import with_test_call_link

CALL_CSV_HEADER = [
    "Started",
    "UUID",
    "Caller number",
    "Duration, s",
    "Status",
    "Outcome",
    "End reason",
    "Language",
    "Turns",
    "Average reply, ms",
    "Orders",
    "Summary",
]


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
class CallAdmin(BoundedSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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
        "is_test",
    ]
    list_filter = ["status", "outcome", "language", "is_test", "started_at"]
    search_fields = ["uuid", "caller_number", "orders__number"]
    date_hierarchy = "started_at"
    fieldsets = [
        (None, {"fields": ["uuid", "caller_number", "language", "sample_rate"]}),
        ("Result", {"fields": ["status", "outcome", "end_reason", "order_links"]}),
        ("Test call", {"fields": ["is_test", "test_real_orders"]}),
        ("Timing", {"fields": ["started_at", "answered_at", "ended_at", "duration_display"]}),
    ]
    readonly_fields = ["order_links", "duration_display"]
    inlines = [TurnInline]
    actions = ["export_csv"]

    def get_urls(self):
        reports_view = self.admin_site.admin_view(self.reports_view)
        return [
            path("reports/", reports_view, name="calls_call_reports"),
            *super().get_urls(),
        ]

    def reports_view(self, request):
        if not request.user.has_perm("calls.view_call"):
            raise PermissionDenied
        report = reports.build_report(reports.parse_period(request.GET.get("days")))
        context = {
            **self.admin_site.each_context(request),
            "title": "Reports",
            "opts": self.opts,
            "report": report,
            "charts": reports.report_charts(report),
            "periods": reports.PERIODS,
            "outcomes": [(o, reports.OUTCOME_LABELS[o]) for o in reports.OUTCOMES],
            "handled_by_bot_labels": [reports.OUTCOME_LABELS[o] for o in reports.BOT_HANDLED],
        }
        return TemplateResponse(request, "admin/calls/call/reports.html", context)

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("calls.export_call")

    @admin.action(description="Export the selected calls as CSV", permissions=["export"])
    def export_csv(self, request, queryset):
        calls = (
            Call.objects.filter(pk__in=queryset.values("pk"))
            .annotate(
                n_turns=Count("turns"),
                avg_reply=Avg("turns__total_ms", filter=Q(turns__role=TurnRole.BOT)),
            )
            .prefetch_related("orders")
            .order_by("-started_at")
        )
        exported = Call.objects.filter(pk__in=queryset.values("pk")).order_by("-started_at")
        log_export(request, Call, [str(u) for u in exported.values_list("uuid", flat=True)])
        rows = (_call_row(call) for call in calls.iterator(chunk_size=500))
        return csv_response(request, dated_filename("calls"), CALL_CSV_HEADER, rows)

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


def _call_row(call: Call) -> list:
    duration = call.ended_at - call.started_at if call.ended_at else None
    return [
        call.started_at,
        call.uuid,
        call.caller_number,
        round(duration.total_seconds()) if duration else None,
        call.get_status_display(),
        call.get_outcome_display(),
        call.end_reason,
        call.get_language_display(),
        call.n_turns,
        round(call.avg_reply) if call.avg_reply is not None else None,
        ", ".join(order.number for order in call.orders.all()),
        call.summary,
    ]


@admin.register(Turn)
class TurnAdmin(BoundedSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Records the database refused (the recorder wrote every other one): staff read the reason
    and the record as it was, to fix the cause and enter it again."""

    list_display = ("created_at", "kind", "call_uuid", "error")
    list_filter = ("kind",)
    search_fields = ("=call_uuid",)
    readonly_fields = ("created_at", "kind", "call_uuid", "payload", "error")


admin.site.get_app_list = with_test_call_link(admin.site.get_app_list)
