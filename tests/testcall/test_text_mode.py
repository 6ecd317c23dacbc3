"""Text-chat test calls over the socket: who may open one, the start message, and a dialogue
through to an order: recorded as a test Call with its turns, the order sandbox (no stock taken,
no notification) unless the tester allowed real orders."""

import asyncio
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from calls.models import Call, CallOutcome, TurnInput, TurnRole
from calls.prompts import GREETING, LANGUAGE_SWITCHED, prompt
from catalog.models import Season, Tire
from orders.models import Notification, Order
from tests.factories import make_brand, make_tire

from .conftest import Page, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_DIALOGUE = [
    "I need 205/55 R16 winter tires",
    "the dunlop please, four of them",
    "my name is james",
    "067 555 12 34",
    "I'll pick them up",
    "yes",
]


async def _refused(communicator) -> None:
    connected, _ = await communicator.connect(timeout=10)
    assert not connected, "the handshake is refused: the browser sees HTTP 403"
    await communicator.wait()


async def test_an_anonymous_visitor_cannot_open_the_socket():
    await _refused(await open_socket())


async def test_staff_without_the_permission_cannot_open_it():
    user = await database_sync_to_async(make_user)(permitted=False)
    await _refused(await open_socket(user))


async def test_a_user_who_is_not_staff_cannot_open_it_even_with_the_permission():
    user = await database_sync_to_async(make_user)(staff=False)
    await _refused(await open_socket(user))


async def _call(user, dialogue: list[str], *, real_orders: bool = False) -> Page:
    page = Page(await open_socket(user))
    connected, _ = await page.socket.connect(timeout=10)
    assert connected
    await page.send(type="start", mode="text", language="", real_orders=real_orders)
    started = await page.until(lambda e: e["type"] == "started")
    assert started["mode"] == "text" and started["language"] == "en"
    greeting = await page.until(lambda e: e["type"] == "turn")
    assert greeting["role"] == "bot" and "help" in greeting["text"].lower()
    for text in dialogue:
        await page.send(type="text", text=text)
        await page.until(lambda e, t=text: e["type"] == "turn" and e["text"] == t)
        await page.until(lambda e: e["type"] == "turn" and e["role"] == "bot")
    await page.send(type="hangup")
    await page.until(lambda e: e["type"] == "ended")
    assert await page.receive() is None
    assert page.closed["code"] == 1000
    return page


def _stored(call_uuid: str):
    call = Call.objects.get(uuid=call_uuid)
    return call, list(call.turns.order_by("sequence")), list(call.orders.all())


async def _wait_for_turns(call_uuid: str, count: int):
    """The recorder writes in batches: wait for the call's turns and its end to be stored."""
    for _ in range(100):
        call, turns, orders = await database_sync_to_async(_stored)(call_uuid)
        if len(turns) >= count and call.ended_at is not None:
            return call, turns, orders
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_uuid}: {len(turns)} turns stored, ended_at {call.ended_at}")


async def test_a_text_dialogue_places_a_sandbox_order_in_a_recorded_test_call(shop):
    user = await database_sync_to_async(make_user)()
    page = await _call(user, ORDER_DIALOGUE)

    started, ended = page.of_type("started")[0], page.of_type("ended")[0]
    assert ended["outcome"] == CallOutcome.ORDER_PLACED and ended["sandbox"] is True
    assert len(ended["orders"]) == 1
    understood = page.of_type("understood")[-1]["slots"]
    assert understood["size"] == "205/55 R16" and understood["season"] == "winter"
    assert understood["quantity"] == 4 and understood["phone"] == "+380675551234"
    assert understood["order_number"] == ended["orders"][0]
    assert all(t["agent_ms"] is not None for t in page.of_type("timing"))

    call, turns, orders = await _wait_for_turns(started["call"], 1 + 2 * len(ORDER_DIALOGUE))
    assert call.is_test and not call.test_real_orders
    assert call.outcome == CallOutcome.ORDER_PLACED and call.end_reason == "caller hung up"
    callers = [t for t in turns if t.role == TurnRole.CALLER]
    assert [t.text for t in callers] == ORDER_DIALOGUE
    assert {t.via for t in turns} == {TurnInput.TEXT}
    (order,) = orders
    assert order.number == ended["orders"][0] and order.sandbox
    assert await database_sync_to_async(Notification.objects.filter(order=order).count)() == 0
    tire = await database_sync_to_async(Tire.objects.get)(pk=shop.pk)
    assert tire.stock_quantity == 12, "a sandbox order takes no stock"


async def test_with_real_orders_ticked_the_order_is_a_real_one(shop):
    user = await database_sync_to_async(make_user)()
    page = await _call(user, ORDER_DIALOGUE, real_orders=True)

    ended = page.of_type("ended")[0]
    assert ended["sandbox"] is False and len(ended["orders"]) == 1
    order = await database_sync_to_async(Order.objects.select_related("source_call").get)(
        number=ended["orders"][0]
    )
    assert not order.sandbox and order.source_call.is_test and order.source_call.test_real_orders
    assert await database_sync_to_async(Notification.objects.filter(order=order).count)() > 0
    tire = await database_sync_to_async(Tire.objects.get)(pk=shop.pk)
    assert tire.stock_quantity == 8


@pytest.mark.parametrize(
    "start, complaint",
    [
        ({"type": "text", "text": "hello"}, "first message"),
        ({"type": "start", "mode": "video"}, "mode"),
        ({"type": "start", "mode": "voice", "sample_rate": 44100}, "sample_rate"),
        ({"type": "start", "mode": "text", "language": "de"}, "language"),
    ],
)
async def test_a_wrong_start_message_gets_an_error_and_the_socket_closes(shop, start, complaint):
    user = await database_sync_to_async(make_user)()
    page = Page(await open_socket(user))
    await page.socket.connect(timeout=10)
    await page.send(**start)
    error = await page.until(lambda e: e["type"] == "error")
    assert complaint in error["message"]
    assert await page.receive() is None


async def test_beyond_test_calls_max_a_call_gets_an_error(shop, settings):
    settings.TEST_CALLS_MAX = 1
    user = await database_sync_to_async(make_user)()
    first, second = Page(await open_socket(user)), Page(await open_socket(user))
    await first.socket.connect(timeout=10)
    await first.send(type="start", mode="text")
    await first.until(lambda e: e["type"] == "started")
    await second.socket.connect(timeout=10)
    await second.send(type="start", mode="text")
    error = await second.until(lambda e: e["type"] == "error")
    assert "1 test calls" in error["message"]
    assert await second.receive() is None
    await first.send(type="hangup")
    await first.until(lambda e: e["type"] == "ended")


async def test_the_chosen_language_starts_the_call_and_a_switch_is_reported(settings):
    settings.CALL_LANGUAGE, settings.CALL_LANGUAGES = "uk", ["uk", "ru"]
    user = await database_sync_to_async(make_user)()
    page = Page(await open_socket(user))
    await page.socket.connect(timeout=10)
    await page.send(type="start", mode="text", language="ru")
    started = await page.until(lambda e: e["type"] == "started")
    assert started["language"] == "ru"
    greeting = await page.until(lambda e: e["type"] == "turn")
    assert "Здравствуйте" in greeting["text"]
    await page.send(type="text", text="можно по-украински?")
    assert (await page.until(lambda e: e["type"] == "language"))["language"] == "uk"
    answer = await page.until(lambda e: e["type"] == "turn" and e["role"] == "bot")
    await page.send(type="dtmf", digit="0")  # an operator, please
    await page.until(lambda e: e["type"] == "turn" and e["text"] == "0")
    ended = await page.until(lambda e: e["type"] == "ended")
    assert answer["text"] and ended["outcome"] == CallOutcome.TRANSFERRED
    call, turns, _ = await _wait_for_turns(started["call"], 5)
    assert call.language == "uk" and call.is_test
    assert [t.via for t in turns] == ["text", "text", "text", "dtmf", "text"]


async def test_a_russian_caller_of_a_ukrainian_shop_is_answered_in_russian(settings):
    """CALL_LANGUAGES=uk,ru: greeted in Ukrainian, a caller who starts in Russian hears Russian
    from the first reply on; asking "Вы говорите по-русски?" then is answered "Конечно, ..." and
    the question again, not "Извините, я не поняла" (a miss counted towards the operator)."""
    settings.CALL_LANGUAGE, settings.CALL_LANGUAGES = "uk", ["uk", "ru"]
    make = database_sync_to_async(make_tire)
    await make(brand=await database_sync_to_async(make_brand)(name="Michelin"),
               model="X-Ice North 4", season=Season.WINTER, price=Decimal("4200"),
               stock_quantity=8, sku="MIC-XIN4-16")  # fmt: skip
    user = await database_sync_to_async(make_user)()
    page = Page(await open_socket(user))
    await page.socket.connect(timeout=10)
    await page.send(type="start", mode="text", language="")
    started = await page.until(lambda e: e["type"] == "started")
    greeting = await page.until(lambda e: e["type"] == "turn")
    assert started["language"] == "uk" and greeting["text"] == prompt(GREETING, "uk")

    await page.send(type="text", text="Здравствуйте, мне нужны зимние шины 205/55 R16")
    offer = await page.until(lambda e: e["type"] == "turn" and e["role"] == "bot")
    await page.send(type="text", text="Вы говорите по-русски?")
    await page.until(lambda e: e["type"] == "turn" and e["text"] == "Вы говорите по-русски?")
    again = await page.until(lambda e: e["type"] == "turn" and e["role"] == "bot")
    await page.send(type="hangup")
    await page.until(lambda e: e["type"] == "ended")

    assert [e["language"] for e in page.of_type("language")] == ["ru"]
    assert offer["text"].startswith("В размере 205/55 R16 есть Michelin"), offer["text"]
    assert again["text"].startswith(prompt(LANGUAGE_SWITCHED, "ru")), again["text"]
    call, _, _ = await _wait_for_turns(started["call"], 5)
    assert call.language == "ru"
