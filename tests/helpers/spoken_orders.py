"""The spoken orders of the mixed-initiative E2E tests (tests/e2e/test_spoken_dialogue*.py): the
shop, what each slot looks like in a caller's words as the recognizer wrote them, the English
caller Peter, and the checks on a finished call (questions asked again, what changed at the
read-back)."""

import asyncio
import re
from decimal import Decimal

from calls.models import Call, CallOutcome, Turn, TurnInput, TurnRole
from catalog.models import Season
from orders.models import Fulfilment, Order
from tests.factories import make_brand, make_tire
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns, transcript
from tests.helpers.spoken_caller import SpokenCaller, Wants, question_of
from tests.helpers.voices import caller_voice

NOKIAN_PRICE = Decimal("3900")


def shop() -> str:
    """A small shop: one winter tire in the caller's size, a summer one beside it, and a
    winter tire of another size. Returns the SKU the caller should end up with."""
    nokian, michelin = make_brand(name="Nokian"), make_brand(name="Michelin")
    make_tire(
        brand=nokian,
        model="Hakkapeliitta R5",
        season=Season.WINTER,
        price=NOKIAN_PRICE,
        stock_quantity=12,
        sku="NOK-R5-16",
    )
    make_tire(
        brand=michelin,
        model="Primacy 4",
        season=Season.SUMMER,
        price=Decimal("4100"),
        stock_quantity=12,
        sku="MIC-P4-16",
    )
    make_tire(
        brand=michelin,
        model="Alpin 6",
        season=Season.WINTER,
        width=195,
        profile=65,
        rim_diameter=15,
        price=Decimal("3300"),
        stock_quantity=12,
        sku="MIC-A6-15",
    )
    return "NOK-R5-16"


# What each slot looks like in a caller's words as the recognizer wrote them, to tell whether the
# bot was given a slot (independent of the agent's own reading of them).
HEARD = {
    "en": {
        "size": r"205\D{0,4}55\D{0,6}16|two hundred (and )?five",
        "season": r"\bwinter",
        "quantity": r"\b(four|4) (of them|(winter )?tires)",
        "name": r"\b(peter|john)\b",
        "fulfilment": r"\bdeliver|\bpick\b",
        "address": r"\bpark street",
    },
    "ru": {
        "size": r"205\D{0,4}55\D{0,6}16",
        "season": r"зимн",
        "quantity": r"(четыре|4) (штук|шин)|комплект",
        "name": r"олег",
        "fulfilment": r"самовывоз|заберу|достав",
        "address": r"ирпен",
    },
}
SLOT_OF_QUESTION = {"keypad": "phone", **{slot: slot for slot in HEARD["en"]}, "phone": "phone"}


def slots_heard(text: str, language: str, phone: str) -> set[str]:
    lower = text.lower()
    slots = {slot for slot, pattern in HEARD[language].items() if re.search(pattern, lower)}
    if phone and phone.removeprefix("+380") in re.sub(r"\D", "", text):
        slots.add("phone")
    return slots


async def reasked(call_uuid, language: str, phone: str) -> list[str]:
    """Questions the bot asked, before its first read-back, for a slot the caller had already
    given and the recognizer had written down: each a line saying which and when."""
    turns = await ended_call_turns(call_uuid, 2)
    given: set[str] = set()
    reasked = []
    for turn in turns:
        if turn.role == TurnRole.CALLER and turn.via == TurnInput.VOICE:
            given |= slots_heard(turn.text, language, phone)
        elif turn.role == TurnRole.BOT:
            question = question_of(turn.text, language)
            if question == "confirm":
                break
            if SLOT_OF_QUESTION.get(question) in given:
                reasked.append(f"{question} asked again: {turn.text!r}")
    return reasked


async def first_breath(call_uuid, language: str) -> set[str]:
    """The slots the caller's first utterance carried as the recognizer wrote it down."""
    first = (
        await Turn.objects.filter(call__uuid=call_uuid, role=TurnRole.CALLER, via=TurnInput.VOICE)
        .order_by("sequence")
        .afirst()
    )
    return slots_heard(first.text, language, "") if first else set()


async def dial(host: str, port: int, rate: int) -> AudioSocketClient:
    client = await AudioSocketClient.connect(host, port, sample_rate=rate)
    client.start_background_silence()
    return client


async def talk(caller: SpokenCaller) -> tuple[str, str]:
    """The whole call; (the bot's last question, the transcript as stored)."""
    try:
        last = await caller.order()
    except Exception as error:
        await caller.client.hangup()
        turns = await ended_call_turns(caller.client.call_uuid, 1)
        raise AssertionError(f"{error!r}; the call so far:\n{transcript(turns)}") from error
    await caller.client.hangup()
    turns = await ended_call_turns(caller.client.call_uuid, 1)
    return last, transcript(turns)


async def order_of(call_uuid) -> Order | None:
    return await Order.objects.filter(source_call__uuid=call_uuid).afirst()


def only_changed(before: dict, after: dict, fields: set[str]) -> list[str]:
    """Read-back values that changed outside `fields` (the total follows the quantity)."""
    keys = ("tire", "quantity", "total", "name", "phone_digits", "fulfilment")
    allowed = fields | ({"total"} if "quantity" in fields else set())
    return [k for k in keys if k not in allowed and before[k] != after[k]]


def peter(voice) -> SpokenCaller:
    """The English caller of several facts in one breath who corrects the quantity."""
    return SpokenCaller(
        None,
        "en",
        voice,
        Wants(
            quantity=4,
            name="Peter",
            phone="+380671234567",
            fulfilment="delivery",
            address_words=("12 park",),
        ),
        says={
            "help": ["Hi, I need four winter tires, two hundred five, fifty five, R sixteen"],
            "size": ["Two hundred five, fifty five, R sixteen"],
            "season": ["Winter"],
            "choice": ["Yes, I'll take them", "Yes, the Nokian"],
            "quantity": ["Four"],
            "name": [
                "Name is Peter, phone zero six seven, one two three, four five, six seven",
                "Peter",
            ],
            "phone": ["Zero six seven, one two three, four five, six seven"],
            "fulfilment": ["Please deliver them to twelve Park Street in Kyiv"],
            "address": ["Twelve Park Street, Kyiv"],
            "yes": ["Yes"],
            "fix_quantity": ["The quantity is two"],
            "fix_name": ["The name is wrong, it's Peter"],
            "fix_phone": [
                "The phone is wrong, it's zero six seven, one two three, four five, six seven"
            ],
            "fix_address": ["The address is twelve Park Street, Kyiv"],
            "fix_fulfilment": ["Delivery please"],
        },
        correct=[("No, only two tires", {"quantity": 2})],
    )


async def peters_order_is_as_said(caller: SpokenCaller, client, sku: str, said: str) -> None:
    order = await order_of(client.call_uuid)
    assert order is not None, said
    item = await order.items.select_related("tire").aget()
    assert (item.tire.sku, item.quantity) == (sku, 2), said
    assert (order.customer_name, order.customer_phone) == ("Peter", "+380671234567"), said
    assert order.fulfilment == Fulfilment.DELIVERY, said
    assert "12 park street" in order.delivery_address.lower(), said
    assert order.total == 2 * NOKIAN_PRICE, said
    # The correction changed the quantity (and so the total), nothing else the caller heard.
    first, last_read = caller.read_backs[0], caller.read_backs[-1]
    assert first["quantity"] == "4" and last_read["quantity"] == "2", said
    assert only_changed(first, last_read, {"quantity"}) == [], said
    # Several facts in one breath: none of them asked for again.
    assert await reasked(client.call_uuid, "en", order.customer_phone) == [], said
    assert await first_breath(client.call_uuid, "en") >= {"size", "season", "quantity"}, said
    call = await Call.objects.aget(uuid=client.call_uuid)
    assert call.outcome == CallOutcome.ORDER_PLACED


async def peter_orders(server) -> tuple[object, str]:
    """Peter's call at 16 kHz to `server`: his order placed and as he said it."""
    sku = await asyncio.to_thread(shop)
    rate = 16000

    def voice(text: str, rate: int) -> bytes:
        return caller_voice(text, rate, "en")

    caller = peter(voice)
    await caller.rehearse(rate)
    caller.client = client = await dial(server.host, server.port, rate)
    last, said = await talk(caller)
    assert last == "placed", said
    await peters_order_is_as_said(caller, client, sku, said)
    return client, said
