"""Spoken orders through the real server with the mixed-initiative agent (issue 14): a caller says
several facts in one breath and is not asked for them again, corrects one value at the read-back
and only that value changes, and keys the phone number in after a spoken attempt that was not a
whole number; in English and in Russian, on the dialplan's 8 kHz and on 16 kHz; and the first of
these calls again with AGENT=llm, the model's side a local chat completions server.

The caller (tests/helpers/spoken_caller.py) answers whatever the bot asks, as a person does, so
a word the recognizer got wrong is asked again and answered, not a failed script; what is
judged is the order row, the read-backs the caller heard and the questions the bot asked.
"""

import asyncio
import re
from decimal import Decimal

import pytest

from calls.models import Call, CallOutcome, Turn, TurnInput, TurnRole
from catalog.models import Season
from orders.models import Fulfilment, Order
from tests.agent.literal_model import LiteralModel
from tests.factories import make_brand, make_tire
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns, transcript
from tests.helpers.fake_llm_api import FakeChatAPI, tool_results
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.server_process import start_server
from tests.helpers.spoken_caller import SpokenCaller, Wants, question_of
from tests.helpers.voices import caller_voice, russian_caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

NOKIAN_PRICE = Decimal("3900")


def _shop() -> str:
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


def _slots_heard(text: str, language: str, phone: str) -> set[str]:
    lower = text.lower()
    slots = {slot for slot, pattern in HEARD[language].items() if re.search(pattern, lower)}
    if phone and phone.removeprefix("+380") in re.sub(r"\D", "", text):
        slots.add("phone")
    return slots


async def _reasked(call_uuid, language: str, phone: str) -> list[str]:
    """Questions the bot asked, before its first read-back, for a slot the caller had already
    given and the recognizer had written down: each a line saying which and when."""
    turns = await ended_call_turns(call_uuid, 2)
    given: set[str] = set()
    reasked = []
    for turn in turns:
        if turn.role == TurnRole.CALLER and turn.via == TurnInput.VOICE:
            given |= _slots_heard(turn.text, language, phone)
        elif turn.role == TurnRole.BOT:
            question = question_of(turn.text, language)
            if question == "confirm":
                break
            if SLOT_OF_QUESTION.get(question) in given:
                reasked.append(f"{question} asked again: {turn.text!r}")
    return reasked


async def _first_breath(call_uuid, language: str) -> set[str]:
    """The slots the caller's first utterance carried as the recognizer wrote it down."""
    first = (
        await Turn.objects.filter(call__uuid=call_uuid, role=TurnRole.CALLER, via=TurnInput.VOICE)
        .order_by("sequence")
        .afirst()
    )
    return _slots_heard(first.text, language, "") if first else set()


async def _call(host: str, port: int, rate: int) -> AudioSocketClient:
    client = await AudioSocketClient.connect(host, port, sample_rate=rate)
    client.start_background_silence()
    return client


async def _talk(caller: SpokenCaller) -> tuple[str, str]:
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


async def _order(call_uuid) -> Order | None:
    return await Order.objects.filter(source_call__uuid=call_uuid).afirst()


def _only_changed(before: dict, after: dict, fields: set[str]) -> list[str]:
    """Read-back values that changed outside `fields` (the total follows the quantity)."""
    keys = ("tire", "quantity", "total", "name", "phone_digits", "fulfilment")
    allowed = fields | ({"total"} if "quantity" in fields else set())
    return [k for k in keys if k not in allowed and before[k] != after[k]]


def _peter(voice) -> SpokenCaller:
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


async def _peters_order_is_as_said(caller: SpokenCaller, client, sku: str, said: str) -> None:
    order = await _order(client.call_uuid)
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
    assert _only_changed(first, last_read, {"quantity"}) == [], said
    # Several facts in one breath: none of them asked for again.
    assert await _reasked(client.call_uuid, "en", order.customer_phone) == [], said
    assert await _first_breath(client.call_uuid, "en") >= {"size", "season", "quantity"}, said
    call = await Call.objects.aget(uuid=client.call_uuid)
    assert call.outcome == CallOutcome.ORDER_PLACED


async def _peter_orders(server) -> tuple[object, str]:
    """Peter's call at 16 kHz to `server`: his order placed and as he said it."""
    sku = await asyncio.to_thread(_shop)
    rate = 16000

    def voice(text: str, rate: int) -> bytes:
        return caller_voice(text, rate, "en")

    caller = _peter(voice)
    await caller.rehearse(rate)
    caller.client = client = await _call(server.host, server.port, rate)
    last, said = await _talk(caller)
    assert last == "placed", said
    await _peters_order_is_as_said(caller, client, sku, said)
    return client, said


async def test_english_several_facts_in_one_breath_and_a_quantity_corrected_at_the_read_back(
    server,
):
    await _peter_orders(server)


class _LiteralScript:
    """The fake chat server's script for one call: every completion is the literal model's
    (tests/agent/literal_model.py), which knows the caller only through what our agent sends."""

    def __init__(self, model: LiteralModel) -> None:
        self.model = model

    def __bool__(self) -> bool:
        return True

    def popleft(self) -> LiteralModel:
        return self.model


@pytest.fixture
def llm_server():
    """The server with AGENT=llm, its model a local chat completions server."""
    api = FakeChatAPI()
    api.script = _LiteralScript(LiteralModel("en"))
    api.start()
    env = {"AGENT": "llm", "LLM_API_URL": api.openai_url, "LLM_API_KEY": API_KEY,
           "LLM_MODEL": "literal", "NO_INPUT_TIMEOUT": "60"}  # fmt: skip
    process = start_server(env=env)
    process.model_api = api
    yield process
    process.stop()
    api.stop()


async def test_the_llm_agent_takes_facts_in_one_breath_and_a_quantity_corrected_at_the_read_back(
    llm_server,
):
    """The first call again, through the LLM agent: the note of what understanding read, the
    tools, the read-back in the agent's words and the yes to exactly it, over the real server."""
    client, said = await _peter_orders(llm_server)
    # The order is the model's create_order, let through by the read-back rule.
    placed = tool_results(llm_server.model_api.requests[-1].json)[-1]
    assert placed["order_number"] == (await _order(client.call_uuid)).number, said


async def test_english_on_the_dialplans_8_khz_a_phone_number_keyed_in_after_a_spoken_attempt(
    server,
):
    sku = await asyncio.to_thread(_shop)
    rate = 8000  # what Asterisk's AudioSocket() dialplan application speaks

    def voice(text: str, rate: int) -> bytes:
        return caller_voice(text, rate, "en")

    caller = SpokenCaller(
        None,
        "en",
        voice,
        Wants(quantity=4, name="Michael", phone="+380931112233", fulfilment="pickup"),
        says={
            "help": [
                "Good morning, I'm looking for winter tires, two hundred five, fifty five, "
                "R sixteen"
            ],
            "size": ["Two hundred five, fifty five, R sixteen"],
            "season": ["Winter"],
            "choice": ["Yes, I'll take them", "Yes, the Nokian"],
            "quantity": ["Four"],
            "name": ["Michael"],
            # Reading the number off a note, the caller loses the end of it.
            "phone": ["Zero nine three, one one one... sorry, I don't remember the rest"],
            "fulfilment": ["I'll pick them up"],
            "yes": ["Yes"],
            "fix_quantity": ["The quantity is four"],
            "fix_name": ["The name is wrong, it's Michael"],
            "fix_fulfilment": ["I'll pick them up"],
        },
    )
    await caller.rehearse(rate)
    caller.client = client = await _call(server.host, server.port, rate)
    last, said = await _talk(caller)

    assert last == "placed", said
    order = await _order(client.call_uuid)
    assert order is not None, said
    # The keypad was offered after the spoken number that was not whole, and the keys became
    # the order's phone, read back to the caller before the yes.
    turns = await ended_call_turns(client.call_uuid, 2)
    offered = [t for t in turns if t.role == TurnRole.BOT and question_of(t.text, "en") == "keypad"]
    keys = [t for t in turns if t.via == TurnInput.DTMF]
    assert offered and keys and offered[0].sequence < keys[0].sequence, said
    assert "".join(t.text for t in keys).endswith("0931112233#"), said
    assert caller.read_backs[-1]["phone_digits"] == "0931112233", said
    assert order.customer_phone == "+380931112233", said
    item = await order.items.select_related("tire").aget()
    assert (item.tire.sku, item.quantity) == (sku, 4), said
    assert (order.customer_name, order.fulfilment) == ("Michael", Fulfilment.PICKUP), said
    assert await _reasked(client.call_uuid, "en", order.customer_phone) == [], said
    assert await _first_breath(client.call_uuid, "en") >= {"size", "season"}, said


@pytest.fixture
def russian_server():
    """A shop whose calls are in Russian: the bot speaks it and Whisper base hears it."""
    process = start_server(env={"CALL_LANGUAGE": "ru"})
    yield process
    process.stop()


async def test_russian_on_8_khz_facts_in_one_breath_and_the_phone_corrected_at_the_read_back(
    russian_server,
):
    sku = await asyncio.to_thread(_shop)
    rate = 8000

    def voice(text: str, rate: int) -> bytes:
        return russian_caller_voice(text, rate)

    phone, corrected = "+380671234567", "+380509876543"
    caller = SpokenCaller(
        None,
        "ru",
        voice,
        Wants(quantity=4, name="Олег", phone=phone, fulfilment="pickup"),
        says={
            "help": [
                "Здравствуйте, нужны зимние шины, двести пять, пятьдесят пять, эр "
                "шестнадцать, четыре штуки"
            ],
            "size": ["Двести пять, пятьдесят пять, эр шестнадцать"],
            "season": ["Зимние"],
            "choice": ["Да, беру", "Да, Нокиан"],
            "quantity": ["Четыре"],
            "name": [
                "Меня зовут Олег, номер ноль шесть семь, один два три, сорок пять, шестьдесят семь",
                "Олег",
            ],
            "phone": [
                "Ноль шесть семь, один два три, сорок пять, шестьдесят семь",
                "Ноль пять ноль, девять восемь семь, шестьдесят пять, сорок три",
            ],
            "fulfilment": ["Самовывоз"],
            "yes": ["Да, всё верно"],
            "fix_quantity": ["Количество четыре"],
            "fix_name": ["Нет, меня зовут Олег"],
            "fix_phone": [
                "Телефон неправильный, правильный ноль пять ноль, девять восемь семь, "
                "шестьдесят пять, сорок три"
            ],
            "fix_fulfilment": ["Самовывоз"],
        },
        correct=[
            (
                "Нет, телефон неправильный, правильный ноль пять ноль, девять восемь семь, "
                "шестьдесят пять, сорок три",
                {"phone": corrected},
            )
        ],
    )
    await caller.rehearse(rate)
    caller.client = client = await _call(russian_server.host, russian_server.port, rate)
    last, said = await _talk(caller)

    assert last == "placed", said
    order = await _order(client.call_uuid)
    assert order is not None, said
    assert order.customer_phone == corrected, said
    item = await order.items.select_related("tire").aget()
    assert (item.tire.sku, item.quantity) == (sku, 4), said
    assert (order.customer_name, order.fulfilment) == ("Олег", Fulfilment.PICKUP), said
    # The first read-back had the first number; only the phone changed after the correction.
    first, final = caller.read_backs[0], caller.read_backs[-1]
    assert final["phone_digits"] == "0509876543", said
    assert _only_changed(first, final, {"phone_digits"}) == [], said
    assert await _reasked(client.call_uuid, "ru", phone) == [], said
    assert await _first_breath(client.call_uuid, "ru") >= {"season", "quantity"}, said
