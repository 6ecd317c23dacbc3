"""The read-back rule of the LLM agent, in code: an order is placed only with exactly the values
the bot read back, and only after the caller's plain yes to that read-back in the very next turn.

The read-back's words are not the model's: read_back_order checks the values against the
catalog and the order service's phone rule, works out the total, and the agent says the text
built here. create_order then has to name the same values; anything else is refused with the
reason, so the model can read back again.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from orders import services as orders

from .. import tools
from ..heard_numbers import valid_phone
from ..messages import TIRE_KINDS, money, phone_spoken, say
from ..policy import MAX_QUANTITY

READ_BACK = {
    "en": "Let me check. {items}, {total} in total. Name: {name}. Phone: {phone}. "
    "{fulfilment}. Shall I place the order?",
    "uk": "Перевірмо. {items}, разом {total}. Ім'я: {name}. Телефон: {phone}. {fulfilment}. "
    "Оформлюю замовлення?",
    "ru": "Давайте проверим. {items}, итого {total}. Имя: {name}. Телефон: {phone}. "
    "{fulfilment}. Оформляю заказ?",
}


@dataclass
class ReadBack:
    """The values the caller heard read back, exactly as they will be stored."""

    items: list[tuple[str, int]]  # (sku, quantity)
    name: str
    phone: str  # E.164
    fulfilment: str
    address: str
    total: str
    text: str
    turn: int  # the caller turn whose reply read it back
    yes_turn: int | None = None  # the caller turn that said yes to it
    said: list[str] = field(default_factory=list)


class Refused(tools.ToolError):
    """create_order refused by the read-back rule; the message tells the model what to do."""


def phone_of(said: str) -> str | None:
    """The E.164 number the model passed, in whatever grouping: the order service's rule."""
    said = str(said or "").strip()
    return orders.normalize_phone(said) or valid_phone(re.sub(r"\D", "", said))


def _items(arguments: dict) -> list[tuple[str, int]]:
    items = arguments.get("items")
    if not isinstance(items, list) or not items:
        raise tools.ToolError("items must list the tires ordered: [{sku, quantity}]")
    found = []
    for item in items:
        if not isinstance(item, dict):
            raise tools.ToolError("each item must be an object {sku, quantity}")
        try:
            quantity = int(item.get("quantity"))
        except (TypeError, ValueError) as error:
            raise tools.ToolError("each item needs a whole-number quantity") from error
        found.append((str(item.get("sku", "")).strip(), quantity))
    return found


def _name(arguments: dict) -> str:
    return " ".join(str(arguments.get("customer_name") or "").split())


def _address(arguments: dict) -> str:
    if arguments.get("fulfilment") != "delivery":
        return ""
    return " ".join(str(arguments.get("delivery_address") or "").split())


def prepare(arguments: dict, language: str, turn: int) -> ReadBack:
    """Check the values of an order against the shop and build its read-back (sync: ORM)."""
    items = _items(arguments)
    name, address = _name(arguments), _address(arguments)
    fulfilment = str(arguments.get("fulfilment") or "")
    if not name or re.fullmatch(r"[\d\W]+", name):
        raise tools.ToolError("ask the caller's name first")
    phone = phone_of(arguments.get("customer_phone", ""))
    if phone is None:
        raise tools.ToolError(
            f"{arguments.get('customer_phone')!r} is not a valid phone number: ask for it again"
        )
    if fulfilment not in ("pickup", "delivery"):
        raise tools.ToolError("ask whether the caller picks the tires up or wants delivery")
    if fulfilment == "delivery" and len(address) < 3:
        raise tools.ToolError("ask for the delivery address")
    said, total = [], Decimal(0)
    for sku, quantity in items:
        tire = tools.check_availability(sku)
        if tire is None:
            raise tools.ToolError(f"no tire with SKU {sku!r}: search again")
        if quantity > MAX_QUANTITY:
            raise tools.ToolError("a wholesale quantity: call transfer_to_operator")
        if not 1 <= quantity <= tire.stock:
            raise tools.ToolError(f"{quantity} is not possible: {tire.stock} in stock")
        kind = TIRE_KINDS.get((tire.season, bool(tire.studded)), {}).get(language, "")
        described = f"{tire.brand} {tire.model}, {tire.size}"
        said.append(f"{kind} {say('item', language, tire=described, quantity=quantity)}".strip())
        total += tire.price * quantity
    where = (
        say("delivery_to", language, address=address)
        if fulfilment == "delivery"
        else say("pickup", language)
    )
    text = READ_BACK.get(language, READ_BACK["en"]).format(
        items="; ".join(said),
        total=money(total, language),
        name=name,
        phone=phone_spoken(phone),
        fulfilment=where,
    )
    return ReadBack(items, name, phone, fulfilment, address, str(total), text, turn, said=said)


def mismatches(read_back: ReadBack, arguments: dict) -> list[str]:
    """What create_order's values change against the read-back ([] when they are the same)."""
    try:
        items = _items(arguments)
    except tools.ToolError as error:
        return [str(error)]
    found = []
    if sorted(items) != sorted(read_back.items):
        found.append(f"items {items} (read back {read_back.items})")
    if _name(arguments).casefold() != read_back.name.casefold():
        found.append(f"name {_name(arguments)!r} (read back {read_back.name!r})")
    if phone_of(arguments.get("customer_phone", "")) != read_back.phone:
        found.append(f"phone {arguments.get('customer_phone')!r} (read back {read_back.phone})")
    if str(arguments.get("fulfilment") or "") != read_back.fulfilment:
        found.append(f"fulfilment {arguments.get('fulfilment')!r} (read back "
                     f"{read_back.fulfilment!r})")  # fmt: skip
    elif _address(arguments).casefold() != read_back.address.casefold():
        found.append(f"address {_address(arguments)!r} (read back {read_back.address!r})")
    return found


def check(read_back: ReadBack | None, arguments: dict, turn: int) -> ReadBack:
    """The read-back create_order may place, or Refused with what the model must do first."""
    if read_back is None:
        raise Refused(
            "nothing was read back: call read_back_order with the order's values; the caller "
            "hears them and must say yes before create_order"
        )
    if read_back.yes_turn != turn:
        raise Refused(
            "the caller has not said yes to the read-back in their last words: ask them to "
            "confirm, or call read_back_order again with the values they want"
        )
    if changed := mismatches(read_back, arguments):
        raise Refused(
            "these values differ from what the caller confirmed: " + "; ".join(changed)
            + ". Call read_back_order with the values the caller wants and ask again"
        )  # fmt: skip
    return read_back
