"""/metrics of the web process: the call center's figures read from the database at scrape time.

Every AudioSocket process on every machine writes its calls, turns and orders to the same
database, so these cover them all; each process's own live histograms are on its
--metrics-port. Five aggregate queries a scrape, whatever the number of rows.
"""

from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from callcenter.client_address import IPNetwork, client_address, in_networks, parse_networks
from calls.metrics import BUCKETS
from calls.models import Call, CallOutcome, CallStatus, Turn, TurnRole
from orders.models import Notification, NotificationStatus, Order, OrderStatus

# Turn fields (ms) → histogram names, the stages of calls/metrics.py.
TURN_STAGES = ("endpoint", "stt", "agent", "tts", "total")
NO_OUTCOME = "none"  # calls in progress, or ended without one


def _counts(rows: Iterable[dict], key: str, known: Iterable[str]) -> dict[str, int]:
    """Every known value (0 when absent, so rates work from the first scrape), plus any other."""
    counts = dict.fromkeys(known, 0)
    for row in rows:
        counts[row[key]] = counts.get(row[key], 0) + row["n"]
    return counts


def _by(model, *fields: str):
    return model.objects.values(*fields).annotate(n=Count("pk")).order_by()


class StoredCallsCollector:
    """Reads the database each time the registry is collected."""

    def collect(self) -> Iterator[Metric]:
        yield from self._calls()
        yield from self._turns()
        yield from self._orders()
        yield from self._notifications()
        yield from self._turn_latencies()

    def _calls(self) -> Iterator[Metric]:
        rows = list(_by(Call, "status", "outcome"))
        active = sum(r["n"] for r in rows if r["status"] == CallStatus.IN_PROGRESS)
        yield GaugeMetricFamily(
            "callcenter_active_calls", "Calls in progress, all processes.", value=active
        )
        for row in rows:
            row["outcome"] = row["outcome"] or NO_OUTCOME
        family = CounterMetricFamily(
            "callcenter_calls", "Calls stored, by outcome ('none': not ended).", labels=["outcome"]
        )
        for outcome, n in _counts(rows, "outcome", [*CallOutcome.values, NO_OUTCOME]).items():
            family.add_metric([outcome], n)
        yield family

    def _turns(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "callcenter_turns", "Turns stored, by who spoke.", labels=["role"]
        )
        for role, n in _counts(_by(Turn, "role"), "role", TurnRole.values).items():
            family.add_metric([role], n)
        yield family

    def _orders(self) -> Iterator[Metric]:
        # Sandbox orders (test calls) are not the shop's orders.
        rows = (
            Order.objects.filter(sandbox=False)
            .values("status")
            .annotate(
                bot=Count("pk", filter=Q(source_call__isnull=False)),
                staff=Count("pk", filter=Q(source_call__isnull=True)),
            )
        )
        counts = {
            (status, source): 0 for status in OrderStatus.values for source in ("bot", "staff")
        }
        for row in rows.order_by():
            for source in ("bot", "staff"):
                counts[row["status"], source] = row[source]
        family = CounterMetricFamily(
            "callcenter_orders",
            "Orders stored, by status and source (bot: taken in a call; staff: entered by hand).",
            labels=["status", "source"],
        )
        for (status, source), n in counts.items():
            family.add_metric([status, source], n)
        yield family

    def _notifications(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "callcenter_notifications", "Order notifications, by status.", labels=["status"]
        )
        rows = _by(Notification, "status")
        for status, n in _counts(rows, "status", NotificationStatus.values).items():
            family.add_metric([status], n)
        yield family

    def _turn_latencies(self) -> Iterator[Metric]:
        # One query: for each stage, a count per bucket (FILTER / CASE in SQL), the count and sum.
        aggregates = {}
        for stage in TURN_STAGES:
            field = f"{stage}_ms"
            aggregates[f"{stage}_count"] = Count(field)
            aggregates[f"{stage}_sum"] = Sum(field)
            for i, bound in enumerate(BUCKETS):
                aggregates[f"{stage}_le_{i}"] = Count(
                    "pk", filter=Q(**{f"{field}__lte": round(bound * 1000)})
                )
        row = Turn.objects.order_by().aggregate(**aggregates)
        for stage in TURN_STAGES:
            buckets = [
                (floatToGoString(bound), row[f"{stage}_le_{i}"]) for i, bound in enumerate(BUCKETS)
            ]
            buckets.append(("+Inf", row[f"{stage}_count"]))
            yield HistogramMetricFamily(
                f"callcenter_stored_turn_{stage}_seconds",
                f"Stored turns' {stage} latency (Turn.{stage}_ms), all processes.",
                buckets=buckets,
                sum_value=(row[f"{stage}_sum"] or 0) / 1000,
            )


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(StoredCallsCollector())


def allowed_networks() -> tuple[IPNetwork, ...]:
    return parse_networks(settings.METRICS_ALLOWED_NETWORKS, "METRICS_ALLOWED_NETWORKS")


def may_scrape(request) -> bool:
    """Staff signed in to the admin, or a client on an allowed network (Prometheus)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    return in_networks(client_address(request), allowed_networks())


@never_cache
@require_GET
def metrics(request):
    if not may_scrape(request):
        return HttpResponseForbidden("Metrics are for the monitoring network and staff.\n")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
