"""The agent's tools: what a dialogue may do in the shop. Each calls catalog/services.py or
orders/services.py and nothing else, takes and returns plain values (the LLM agent sends them
as JSON), and is a synchronous unit of ORM work: agents await them through
`database_sync_to_async`, off the event loop.
"""

import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.utils import timezone

from calls import metrics
from catalog import services as catalog
from orders import services as orders
from orders.models import Fulfilment, Order


@dataclass(frozen=True)
class TireOffer:
    sku: str
    brand: str
    model: str
    size: str
    season: str
    studded: bool
    price: Decimal
    stock: int

    @classmethod
    def of(cls, tire) -> "TireOffer":
        return cls(
            tire.sku,
            tire.brand.name,
            tire.model,
            tire.size,
            tire.season,
            tire.studded,
            tire.price,
            tire.stock_quantity,
        )

    def as_json(self) -> dict:
        return {**asdict(self), "price": str(self.price)}


@dataclass(frozen=True)
class OrderInfo:
    number: str
    status: str
    items: list[tuple[int, str]]  # (quantity, "Brand Model 205/55 R16")
    total: Decimal
    fulfilment: str
    created_at: str

    @classmethod
    def of(cls, order: Order) -> "OrderInfo":
        return cls(
            order.number,
            order.status,
            [
                (item.quantity, f"{item.tire.brand.name} {item.tire.model} {item.tire.size}")
                for item in order.items.all()
            ],
            order.total,
            order.fulfilment,
            timezone.localtime(order.created_at).date().isoformat(),
        )

    def as_json(self) -> dict:
        return {**asdict(self), "total": str(self.total)}


class ToolError(Exception):
    """What a tool could not do, in words the agent can say or show the model."""


def search_tires(
    size: str = "",
    season: str = "",
    brand: str = "",
    studded: bool | None = None,
    min_price: float | None = None,
    max_price: float | None = None,
    include_out_of_stock: bool = False,
    limit: int = 3,
) -> list[TireOffer]:
    """Tires by size (written or spoken; "R17" alone for a rim), season, brand (fuzzy), studs
    and price range; ranked; only in stock unless asked."""
    parsed = catalog.parse_written_size(size) or catalog.parse_spoken_size(size) if size else None
    rim = None if parsed or not size else catalog.parse_rim(size)
    if size and not parsed and not rim:
        raise ToolError(f"{size!r} is not a tire size")
    brand_id = None
    if brand:
        found = catalog.match_brand(brand)
        if found is None:
            raise ToolError(f"the shop does not sell the brand {brand!r}")
        brand_id = found.pk
    tires = catalog.search_tires(
        size=parsed,
        rim_diameter=rim,
        season=season or None,
        brand_id=brand_id,
        studded=studded,
        min_price=min_price,
        max_price=max_price,
        include_out_of_stock=include_out_of_stock,
        limit=max(1, min(limit, 10)),
    )
    return [TireOffer.of(tire) for tire in tires]


def brand_spellings() -> list[tuple[str, list[str]]]:
    """The shop's brands with the other spellings callers and speech-to-text use."""
    from catalog.models import Brand

    return [(brand.name, brand.alias_list) for brand in Brand.objects.all()]


def sizes_in_stock() -> list[str]:
    """Every size the shop can sell today ("205/55 R16"), to match a size heard badly."""
    from catalog.models import Tire

    rows = Tire.objects.available().order_by().values_list("width", "profile", "rim_diameter")
    return sorted({f"{w}/{p} R{r}" for w, p, r in rows.distinct()})


def check_availability(sku: str) -> TireOffer | None:
    from catalog.models import Tire

    tire = Tire.objects.filter(sku=sku, is_active=True).select_related("brand").first()
    return TireOffer.of(tire) if tire else None


@dataclass(frozen=True)
class PlacedOrder:
    number: str
    total: Decimal


def create_order(
    call_uuid: uuid.UUID,
    items: list[tuple[str, int]],
    customer_name: str,
    customer_phone: str,
    fulfilment: str = Fulfilment.PICKUP,
    delivery_address: str = "",
    attempt: int = 1,
) -> PlacedOrder:
    """Place the order the caller confirmed. Idempotent per call and attempt: a retried request
    returns the order already placed."""
    from calls.models import Call
    from catalog.models import Tire

    phone = orders.normalize_phone(customer_phone)
    if phone is None:
        raise ToolError(f"{customer_phone!r} is not a valid phone number")
    tires = dict(Tire.objects.filter(sku__in=[sku for sku, _ in items]).values_list("sku", "pk"))
    missing = [sku for sku, _ in items if sku not in tires]
    if missing:
        raise ToolError(f"no tire with SKU {', '.join(missing)}")
    # The call's row may still be in the recorder's next batch: make sure it exists (the
    # recorder's upsert fills in the rest).
    call, _ = Call.objects.get_or_create(uuid=call_uuid)
    try:
        order = orders.place_order(
            customer_name=customer_name,
            customer_phone=phone,
            lines=[orders.Line(tires[sku], quantity) for sku, quantity in items],
            fulfilment=fulfilment,
            delivery_address=delivery_address,
            source_call_id=call.pk,
            request_key=f"call:{call_uuid}:{attempt}",
        )
    except orders.OrderError as error:
        raise ToolError(str(error)) from error
    if not order.sandbox:  # a test call's sandbox order is not the shop's
        metrics.ORDERS_PLACED.inc()
    return PlacedOrder(order.number, order.total)


def order_status(number: str = "", phone: str = "") -> list[OrderInfo]:
    """The order with this number, or the latest orders placed with this phone."""
    normalized = orders.normalize_phone(phone) if phone else None
    if phone and not normalized:
        raise ToolError(f"{phone!r} is not a valid phone number")
    found = orders.find_orders(number=number.strip() or None, phone=normalized)
    return [OrderInfo.of(order) for order in found]
