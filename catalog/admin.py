"""Catalog admin: staff browse, price and stock the tires the bot offers."""

from django.contrib import admin
from django.db import transaction
from django.db.models import Count

from callcenter.admin_search import BoundedSearchMixin
from callcenter.audit import log_action

from .models import Brand, Tire
from .services import parse_written_size


@admin.register(Brand)
class BrandAdmin(BoundedSearchMixin, admin.ModelAdmin):
    list_display = ["name", "aliases", "tire_count"]
    search_fields = ["name", "aliases"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(tire_count=Count("tires"))

    @admin.display(description="Tires", ordering="tire_count")
    def tire_count(self, brand: Brand) -> int:
        return brand.tire_count


@admin.register(Tire)
class TireAdmin(BoundedSearchMixin, admin.ModelAdmin):
    list_display = [
        "sku",
        "brand",
        "model",
        "size_display",
        "season",
        "load_speed",
        "studded",
        "price",
        "stock_quantity",
        "is_active",
    ]
    list_display_links = ["sku", "model"]
    list_editable = ["price", "stock_quantity", "is_active"]
    list_filter = ["season", "brand", "studded", "is_active", "rim_diameter", "width"]
    list_select_related = ["brand"]
    search_fields = ["sku", "model", "brand__name"]
    autocomplete_fields = ["brand"]
    readonly_fields = ["created_at", "updated_at"]
    list_per_page = 50
    actions = ["activate", "deactivate"]
    fieldsets = [
        (None, {"fields": ["sku", "brand", "model", "is_active"]}),
        (
            "Size and ratings",
            {
                "fields": [
                    ("width", "profile", "rim_diameter"),
                    "season",
                    ("load_index", "speed_index"),
                    "studded",
                ]
            },
        ),
        ("Sales", {"fields": ["price", "stock_quantity"]}),
        ("History", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_search_results(self, request, queryset, search_term):
        # Staff type sizes the way they are printed: "205/55 R16" or "205/55/16".
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        size = parse_written_size(search_term)
        if size:
            queryset |= self.model.objects.of_size(size.width, size.profile, size.rim_diameter)
        return queryset, may_have_duplicates

    @admin.display(description="Size", ordering="rim_diameter")
    def size_display(self, tire: Tire) -> str:
        return tire.size

    @admin.display(description="Load/speed")
    def load_speed(self, tire: Tire) -> str:
        return f"{tire.load_index}{tire.speed_index}"

    # Without permissions=["change"] Django offers an action to anyone who may view the list:
    # an Operator could take the whole catalog off sale.
    @admin.action(description="Offer the selected tires to callers", permissions=["change"])
    def activate(self, request, queryset) -> None:
        count = self._set_offered(request, queryset, True)
        self.message_user(request, f"{count} tires are now offered to callers.")

    @admin.action(description="Stop offering the selected tires", permissions=["change"])
    def deactivate(self, request, queryset) -> None:
        count = self._set_offered(request, queryset, False)
        self.message_user(request, f"{count} tires are no longer offered.")

    def _set_offered(self, request, queryset, offered: bool) -> int:
        """Switch the tires that need it, and note each in its history (who and when)."""
        with transaction.atomic():
            changing = list(queryset.exclude(is_active=offered).select_for_update())
            Tire.objects.filter(pk__in=[tire.pk for tire in changing]).update(is_active=offered)
            message = "Offered to callers." if offered else "No longer offered to callers."
            log_action(request, changing, f"{message} (admin action)")
        return len(changing)
