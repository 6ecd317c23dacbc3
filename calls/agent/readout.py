"""What the rule-based agent reads out of its frame: the offers with their prices, and the
read-back of the order, which says every value that will be stored."""

from decimal import Decimal

from .messages import TIRE_KINDS, money, phone_spoken, say


def offer_options(offers: list[dict], language: str) -> list[str]:
    """The offers as the bot says them: numbered with their prices, or the one alone without
    its number."""
    said = [
        say(
            "option",
            language,
            n=n,
            tire=f"{offer['brand']} {offer['model']}",
            price=money(Decimal(offer["price"]), language),
        )
        for n, offer in enumerate(offers, 1)
    ]
    if len(said) == 1:
        return [said[0].split(", ", 1)[1]]  # no "1, " before the only one
    return said


def offer_facts(offer: dict, language: str) -> str:
    """What the bot knows of an offer: brand and tread line, the kind (season, studs), the price
    and how many are in stock."""
    kind = TIRE_KINDS.get((offer["season"], bool(offer["studded"])), {}).get(language, "")
    return say(
        "offer_facts",
        language,
        tire=f"{offer['brand']} {offer['model']}",
        kind=kind.lower(),
        price=money(Decimal(offer["price"]), language),
        stock=offer["stock"],
    )


def order_read_back(state: dict, language: str) -> str:
    """The tire with its season, the quantity, the total, name, phone and pickup or address."""
    choice, quantity = state["choice"], state["quantity"]
    fulfilment = (
        say("delivery_to", language, address=state["address"])
        if state["fulfilment"] == "delivery"
        else say("pickup", language)
    )
    kind = TIRE_KINDS.get((choice["season"], bool(choice["studded"])), {})
    return say(
        "confirm",
        language,
        kind=kind.get(language, ""),
        quantity=quantity,
        tire=f"{choice['brand']} {choice['model']}, {choice['size']}",
        total=money(Decimal(choice["price"]) * quantity, language),
        name=state["name"],
        phone=phone_spoken(state["phone"]),
        fulfilment=fulfilment,
    )
