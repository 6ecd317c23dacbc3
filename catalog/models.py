"""The shop's catalog: tire brands and the tires (SKUs) it sells."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Brand(models.Model):
    name = models.CharField(max_length=80, unique=True)
    aliases = models.CharField(
        max_length=500,
        blank=True,
        help_text="Other spellings and spoken forms, comma-separated (e.g. 'Мішлен, Мишлен').",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def alias_list(self) -> list[str]:
        return [alias.strip() for alias in self.aliases.split(",") if alias.strip()]


class Season(models.TextChoices):
    SUMMER = "summer", "Summer"
    WINTER = "winter", "Winter"
    ALL_SEASON = "all_season", "All-season"


class SpeedIndex(models.TextChoices):
    # The speed symbols of ECE R30 / ETRTO used on passenger and SUV tires, slowest first.
    L = "L", "L (120 km/h)"
    M = "M", "M (130 km/h)"
    N = "N", "N (140 km/h)"
    P = "P", "P (150 km/h)"
    Q = "Q", "Q (160 km/h)"
    R = "R", "R (170 km/h)"
    S = "S", "S (180 km/h)"
    T = "T", "T (190 km/h)"
    H = "H", "H (210 km/h)"
    V = "V", "V (240 km/h)"
    W = "W", "W (270 km/h)"
    Y = "Y", "Y (300 km/h)"


class TireQuerySet(models.QuerySet):
    def available(self) -> "TireQuerySet":
        """Tires a caller can order today: active and on the shelf."""
        return self.filter(is_active=True, stock_quantity__gt=0)

    def of_size(self, width: int, profile: int, rim_diameter: int) -> "TireQuerySet":
        return self.filter(width=width, profile=profile, rim_diameter=rim_diameter)


class Tire(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="tires")
    model = models.CharField(max_length=120, help_text="The tread line, e.g. 'Pilot Sport 5'.")
    width = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(105), MaxValueValidator(395)], help_text="Section width, mm."
    )
    profile = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(20), MaxValueValidator(95)],
        help_text="Aspect ratio, % of the width.",
    )
    rim_diameter = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(10), MaxValueValidator(24)], help_text="Rim diameter, inches."
    )
    season = models.CharField(max_length=16, choices=Season.choices)
    load_index = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(60), MaxValueValidator(130)]
    )
    speed_index = models.CharField(max_length=1, choices=SpeedIndex.choices)
    studded = models.BooleanField(default=False)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Price of one tire.",
    )
    stock_quantity = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(
        "active", default=True, help_text="Inactive tires are never offered to callers."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TireQuerySet.as_manager()

    class Meta:
        ordering = ["width", "profile", "rim_diameter", "brand__name", "model"]
        indexes = [
            # The bot's search: an exact size, maybe a season, among what can be sold.
            models.Index(
                fields=["width", "profile", "rim_diameter", "season"],
                condition=Q(is_active=True),
                name="tire_active_size_idx",
            ),
            models.Index(fields=["brand", "season"], name="tire_brand_season_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="tire_price_positive"),
            models.CheckConstraint(
                condition=Q(studded=False) | Q(season="winter"), name="tire_only_winter_studded"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand.name} {self.model} {self.size} {self.load_index}{self.speed_index}"

    @property
    def size(self) -> str:
        """The size as it is written on the sidewall, e.g. '205/55 R16'."""
        return f"{self.width}/{self.profile} R{self.rim_diameter}"
