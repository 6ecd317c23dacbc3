"""The shop manager's report: calls, reply latency and orders per local day, as DB aggregates.

Staff's test calls (the admin's test-call page) and the sandbox orders they place are not the
shop's business and are left out; a real order a test call placed counts like any order.
"""

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Aggregate, Avg, Count, FloatField, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from orders.models import Order, OrderStatus

from .models import Call, CallOutcome, Language, Turn, TurnRole

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30

# Calls the bot saw through to the end itself: nobody had to pick up after it.
BOT_HANDLED = (CallOutcome.ORDER_PLACED, CallOutcome.INFO_GIVEN, CallOutcome.ABANDONED)
NO_OUTCOME = ""  # In progress, or ended before the recorder wrote an outcome.
OUTCOMES = [*CallOutcome.values, NO_OUTCOME]
OUTCOME_LABELS = {**dict(CallOutcome.choices), NO_OUTCOME: "No outcome yet"}

_BOT_REPLY = Q(role=TurnRole.BOT, total_ms__isnull=False)


class Percentile95(Aggregate):
    """The 95th percentile (PostgreSQL's percentile_cont); other databases compute none."""

    function = "percentile_cont"
    template = "%(function)s(0.95) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


@dataclass(frozen=True)
class Period:
    days: int
    first_day: datetime.date
    last_day: datetime.date

    @classmethod
    def ending(cls, last_day: datetime.date, days: int) -> "Period":
        return cls(days, last_day - datetime.timedelta(days=days - 1), last_day)

    @property
    def start(self) -> datetime.datetime:
        """Local midnight at which the period begins, as an aware datetime."""
        return timezone.make_aware(datetime.datetime.combine(self.first_day, datetime.time.min))

    @property
    def end(self) -> datetime.datetime:
        next_day = self.last_day + datetime.timedelta(days=1)
        return timezone.make_aware(datetime.datetime.combine(next_day, datetime.time.min))

    def dates(self) -> list[datetime.date]:
        return [self.first_day + datetime.timedelta(days=n) for n in range(self.days)]


@dataclass
class Headline:
    calls: int = 0
    handled_by_bot: int = 0
    transferred: int = 0
    bot_orders: int = 0
    bot_orders_cancelled: int = 0
    bot_orders_value: Decimal = Decimal(0)
    avg_reply_ms: float | None = None
    p95_reply_ms: float | None = None


@dataclass
class Day:
    date: datetime.date
    calls: dict[str, int] = field(default_factory=dict)  # outcome → count
    avg_reply_ms: float | None = None
    p95_reply_ms: float | None = None
    bot_orders: int = 0
    staff_orders: int = 0

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())


@dataclass(frozen=True)
class LanguageRow:
    """The calls that ended in one language: how many, and how many placed an order."""

    code: str
    label: str
    calls: int
    orders: int


@dataclass
class Report:
    period: Period
    headline: Headline
    days: list[Day]
    languages: list[LanguageRow] = field(default_factory=list)


def parse_period(value: str | None) -> int:
    """The number of days a visitor asked for, or the default when it is not one we offer."""
    try:
        days = int(value or DEFAULT_PERIOD)
    except ValueError:
        return DEFAULT_PERIOD
    return days if days in PERIODS else DEFAULT_PERIOD


def build_report(days: int = DEFAULT_PERIOD, *, today: datetime.date | None = None) -> Report:
    period = Period.ending(today or timezone.localdate(), days)
    by_date = {date: Day(date, calls=dict.fromkeys(OUTCOMES, 0)) for date in period.dates()}
    tz = timezone.get_current_timezone()
    calls = Call.objects.filter(
        started_at__gte=period.start, started_at__lt=period.end, is_test=False
    )
    bot_turns = Turn.objects.filter(
        _BOT_REPLY,
        call__started_at__gte=period.start,
        call__started_at__lt=period.end,
        call__is_test=False,
    )
    orders = Order.objects.filter(
        created_at__gte=period.start, created_at__lt=period.end, sandbox=False
    )

    for row in (
        calls.annotate(day=TruncDate("started_at", tzinfo=tz))
        .values("day", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts = by_date[row["day"]].calls
        counts[row["outcome"] if row["outcome"] in counts else NO_OUTCOME] += row["n"]

    latency = {"avg": Avg("total_ms")}
    if _has_percentiles():
        latency["p95"] = Percentile95("total_ms")
    # A turn belongs to the day its call started, so a call's turns are never split over days.
    for row in (
        bot_turns.annotate(day=TruncDate("call__started_at", tzinfo=tz))
        .values("day")
        .annotate(**latency)
        .order_by()
    ):
        by_date[row["day"]].avg_reply_ms = row["avg"]
        by_date[row["day"]].p95_reply_ms = row.get("p95")

    for row in (
        orders.annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(
            bot=Count("pk", filter=Q(source_call__isnull=False)),
            staff=Count("pk", filter=Q(source_call__isnull=True)),
        )
        .order_by()
    ):
        by_date[row["day"]].bot_orders = row["bot"]
        by_date[row["day"]].staff_orders = row["staff"]

    report = Report(period, _headline(calls, bot_turns, orders), list(by_date.values()))
    report.languages = _languages(calls)
    return report


def _languages(calls) -> list[LanguageRow]:
    """Calls per language (the one each call ended in), every language the bot speaks."""
    counted = {
        row["language"]: row
        for row in calls.values("language")
        .annotate(n=Count("pk"), orders=Count("pk", filter=Q(outcome=CallOutcome.ORDER_PLACED)))
        .order_by()
    }
    return [
        LanguageRow(code, label, counted.get(code, {}).get("n", 0),
                    counted.get(code, {}).get("orders", 0))
        for code, label in Language.choices
    ]  # fmt: skip


def _headline(calls, bot_turns, orders) -> Headline:
    call_counts = calls.aggregate(
        calls=Count("pk"),
        handled_by_bot=Count("pk", filter=Q(outcome__in=BOT_HANDLED)),
        transferred=Count("pk", filter=Q(outcome=CallOutcome.TRANSFERRED)),
    )
    cancelled = Q(status=OrderStatus.CANCELLED)
    order_figures = orders.filter(source_call__isnull=False).aggregate(
        bot_orders=Count("pk"),
        bot_orders_cancelled=Count("pk", filter=cancelled),
        bot_orders_value=Sum("total", filter=~cancelled),
    )
    latency = bot_turns.aggregate(avg=Avg("total_ms"), n=Count("pk"))
    if _has_percentiles():
        p95 = bot_turns.aggregate(p95=Percentile95("total_ms"))["p95"]
    else:
        p95 = _nearest_rank_p95(bot_turns, latency["n"])
    return Headline(
        **call_counts,
        bot_orders=order_figures["bot_orders"],
        bot_orders_cancelled=order_figures["bot_orders_cancelled"],
        bot_orders_value=order_figures["bot_orders_value"] or Decimal(0),
        avg_reply_ms=latency["avg"],
        p95_reply_ms=p95,
    )


def _nearest_rank_p95(bot_turns, count: int) -> float | None:
    """The 95th percentile where the database has no percentile function: one sorted offset."""
    if not count:
        return None
    rank = max(0, -(-95 * count // 100) - 1)  # ceil(0.95 n), counted from zero
    return float(bot_turns.order_by("total_ms").values_list("total_ms", flat=True)[rank])


def _has_percentiles() -> bool:
    return connection.vendor == "postgresql"


# --- Charts: the geometry of server-side SVG bar charts (the template only draws it) --------

CHART_WIDTH, CHART_HEIGHT = 760, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 8, 10, 26
OUTCOME_COLOURS = {
    CallOutcome.ORDER_PLACED: "#2e7d32",
    CallOutcome.INFO_GIVEN: "#1976d2",
    CallOutcome.TRANSFERRED: "#f9a825",
    CallOutcome.ABANDONED: "#8d6e63",
    CallOutcome.FAILED: "#c62828",
    NO_OUTCOME: "#9e9e9e",
}


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    values: list[float | None]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Tick:
    x1: float
    x2: float
    y: float
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int  # where the plot starts, right of the axis labels
    rects: list[Rect]
    ticks: list[Tick]
    gridlines: list[tuple[float, str]]  # (y, label)
    day_labels: list[tuple[float, str]]  # (x, label)
    legend: list[Series]


def bar_chart(
    dates: list[datetime.date],
    series: list[Series],
    *,
    unit: str = "",
    marks: Series | None = None,
) -> Chart:
    """Bars per day, the series stacked in order; `marks` are drawn as a tick over each bar."""
    plot_width = CHART_WIDTH - _LEFT - _RIGHT
    plot_height = CHART_HEIGHT - _TOP - _BOTTOM
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(dates))]
    marked = [v for v in marks.values if v is not None] if marks else []
    step, top = _scale(max([*totals, *marked, 0]))
    slot = plot_width / max(len(dates), 1)
    bar_width = max(slot * 0.8, 1)

    def y_of(value: float) -> float:
        return _TOP + plot_height * (1 - value / top)

    rects, ticks = [], []
    for i, date in enumerate(dates):
        x = _LEFT + i * slot + (slot - bar_width) / 2
        base = 0.0
        for s in series:
            value = s.values[i] or 0
            if value:
                rects.append(
                    Rect(
                        round(x, 1),
                        round(y_of(base + value), 1),
                        round(bar_width, 1),
                        round(y_of(base) - y_of(base + value), 1),
                        s.colour,
                        f"{date.isoformat()} · {s.label}: {_number(value)}{unit}",
                    )
                )
            base += value
        if marks and marks.values[i] is not None:
            ticks.append(
                Tick(
                    round(x, 1),
                    round(x + bar_width, 1),
                    round(y_of(marks.values[i]), 1),
                    f"{date.isoformat()} · {marks.label}: {_number(marks.values[i])}{unit}",
                )
            )
    gridlines = [
        (round(y_of(n * step), 1), f"{_number(n * step)}{unit}") for n in range(int(top / step) + 1)
    ]
    every = -(-len(dates) // 10)  # at most about ten date labels
    day_labels = [
        (round(_LEFT + (i + 0.5) * slot, 1), date.strftime("%d.%m"))
        for i, date in enumerate(dates)
        if i % every == 0
    ]
    legend = [*series, *([marks] if marks else [])]
    return Chart(CHART_WIDTH, CHART_HEIGHT, _LEFT, rects, ticks, gridlines, day_labels, legend)


def _scale(highest: float) -> tuple[float, float]:
    """A round step (1, 2 or 5 × 10ⁿ) giving about four gridlines, and the top of the axis."""
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            step = multiple * magnitude
            if step * 4 >= highest:
                return step, step * max(1, math.ceil(highest / step))
        magnitude *= 10


def _number(value: float) -> str:
    if value >= 10 or value == int(value):
        return f"{value:,.0f}".replace(",", "\u202f")  # a narrow space between thousands
    return f"{value:.1f}"


def report_charts(report: Report) -> dict[str, Chart]:
    dates = [day.date for day in report.days]
    calls = [
        Series(OUTCOME_LABELS[o], OUTCOME_COLOURS[o], [day.calls[o] for day in report.days])
        for o in OUTCOMES
    ]
    average = Series("Average reply", "#1976d2", [_round(day.avg_reply_ms) for day in report.days])
    p95 = Series("95th percentile", "#c62828", [_round(day.p95_reply_ms) for day in report.days])
    has_p95 = any(v is not None for v in p95.values)
    orders = [
        Series("By the bot", "#2e7d32", [day.bot_orders for day in report.days]),
        Series("By staff", "#757575", [day.staff_orders for day in report.days]),
    ]
    return {
        "calls": bar_chart(dates, [s for s in calls if any(s.values)] or calls[:1]),
        "latency": bar_chart(dates, [average], unit=" ms", marks=p95 if has_p95 else None),
        "orders": bar_chart(dates, orders),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value)
