"""The LLM agent's read-back rule, enforced in code whatever the model does: the order stored is
the one read back (in the agent's words, with every value), and only after the caller's plain
yes to it in the next turn. The model's side is scripted at the HTTP boundary; the catalog, the
order service and the understanding of the caller's words are real."""

import uuid
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from calls.agent.base import Action, CallContext
from calls.agent.llm import LLMAgent
from calls.models import CallOutcome
from catalog.models import Season
from orders.models import Fulfilment, Order
from tests.factories import make_brand, make_tire
from tests.helpers.fake_llm_api import tool_call, tool_results

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {
    "items": [{"sku": "NOK-R5-16", "quantity": 4}],
    "customer_name": "Ivan",
    "customer_phone": "+380671234567",
    "fulfilment": "pickup",
}
DELIVERY = {**ORDER, "fulfilment": "delivery", "delivery_address": "Irpin, Soborna 5"}


def _context(language: str = "en") -> CallContext:
    return CallContext(uuid.uuid4(), language)


def _placed(body: dict) -> dict:
    return {"content": f"Done, number {tool_results(body)[-1].get('order_number')}."}


def _refused(body: dict) -> dict:
    return {"content": f"Refused: {tool_results(body)[-1].get('error')}"}


async def _read_back(model, agent, context, values=ORDER, said="Four, Ivan, my number, pickup"):
    model.script.append(tool_call("read_back_order", **values))
    return await agent.respond(context, said)


async def test_the_order_stored_is_the_one_read_back_with_the_delivery_address(model, tire):
    agent, context = LLMAgent(), _context()
    reply = await _read_back(model, agent, context, DELIVERY)
    assert "Delivery to Irpin, Soborna 5" in reply.text and "15600 hryvnias" in reply.text
    model.script.extend([tool_call("create_order", **DELIVERY), _placed])
    reply = await agent.respond(context, "yes, that's all correct")
    order = await Order.objects.aget()
    assert reply.text == f"Done, number {order.number}." and reply.outcome == "order_placed"
    assert (order.fulfilment, order.delivery_address) == (Fulfilment.DELIVERY, "Irpin, Soborna 5")
    assert (order.customer_name, order.customer_phone) == ("Ivan", "+380671234567")


@pytest.mark.parametrize(
    "changed, reason",
    [
        ({"items": [{"sku": "NOK-R5-16", "quantity": 2}]}, "items"),
        ({"customer_phone": "050 111 22 33"}, "phone"),
        ({"customer_name": "Petro"}, "name"),
        ({"fulfilment": "delivery", "delivery_address": "Kyiv, Khreshchatyk 1"}, "fulfilment"),
    ],
)
async def test_create_order_with_values_other_than_those_read_back_is_refused(
    model, tire, changed, reason
):
    agent, context = LLMAgent(), _context()
    await _read_back(model, agent, context)
    model.script.extend([tool_call("create_order", **{**ORDER, **changed}), _refused])
    reply = await agent.respond(context, "yes")
    assert reply.text.startswith("Refused: these values differ from what the caller confirmed")
    assert reason in reply.text
    assert not await Order.objects.aexists()


async def test_the_same_values_in_another_spelling_are_the_same_order(model, tire):
    agent, context = LLMAgent(), _context()
    await _read_back(model, agent, context)
    same = {**ORDER, "customer_phone": "067 123 45 67", "customer_name": " ivan "}
    model.script.extend([tool_call("create_order", **same), _placed])
    await agent.respond(context, "yes")
    assert (await Order.objects.aget()).customer_phone == "+380671234567"


async def test_a_correction_to_the_read_back_needs_a_new_read_back(model, tire):
    agent, context = LLMAgent(), _context()
    await _read_back(model, agent, context)
    corrected = {**ORDER, "customer_phone": "050 111 22 33"}
    # The model takes the correction straight into an order: refused, the yes was no plain yes.
    model.script.extend([tool_call("create_order", **corrected), _refused])
    reply = await agent.respond(context, "yes but the phone is 050 111 22 33")
    assert "has not said yes" in reply.text and not await Order.objects.aexists()
    sent = model.requests[-2].json["messages"][-1]["content"]
    assert "phone +380501112233 (valid)" in sent and "not a plain yes" in sent

    reply = await _read_back(model, agent, context, corrected, said="the phone is 050 111 22 33")
    assert "0 5 0, 1 1 1, 2 2, 3 3" in reply.text
    model.script.extend([tool_call("create_order", **corrected), _placed])
    await agent.respond(context, "yes")
    assert (await Order.objects.aget()).customer_phone == "+380501112233"


async def test_a_yes_that_does_not_answer_the_read_back_just_said_places_nothing(model, tire):
    agent, context = LLMAgent(), _context()
    await _read_back(model, agent, context)
    model.script.extend(
        [
            tool_call("shop_info", topic="delivery"),
            {"content": "Delivery is priced by the address. Shall I place the order?"},
            tool_call("create_order", **ORDER),
            _refused,
        ]
    )
    await agent.respond(context, "how much is delivery?")
    reply = await agent.respond(context, "yes")
    assert "nothing was read back" in reply.text and not await Order.objects.aexists()


async def test_a_yes_that_picks_another_tire_is_no_yes_to_the_read_back(model, tire):
    kumho = await database_sync_to_async(make_brand)(name="Kumho")
    await database_sync_to_async(make_tire)(
        brand=kumho, season=Season.WINTER, price=Decimal("4200"), sku="KUM-16"
    )
    agent, context = LLMAgent(), _context()
    model.script.extend(
        [tool_call("search_tires", size="205/55 R16", season="winter"), {"content": "Two."}]
    )
    await agent.respond(context, "winter 205/55 R16")
    await _read_back(model, agent, context)
    model.script.extend([tool_call("create_order", **ORDER), _refused])
    reply = await agent.respond(context, "yes, the second one please")
    assert "has not said yes" in reply.text and not await Order.objects.aexists()


@pytest.mark.parametrize(
    "language, said, placed",
    [
        ("uk", "так, все правильно", True),
        ("ru", "да, всё верно, оформляйте", True),
        ("en", "yep", True),
        ("uk", "ні, не чотири, а дві", False),
        ("ru", "нет, имя другое", False),
        ("en", "no wait, make it two", False),
        ("en", "hmm", False),
    ],
)
async def test_only_a_plain_yes_to_the_read_back_places_the_order(
    model, tire, language, said, placed
):
    agent, context = LLMAgent(), _context(language)
    await _read_back(model, agent, context)
    model.script.extend([tool_call("create_order", **ORDER), _placed if placed else _refused])
    await agent.respond(context, said)
    assert await Order.objects.aexists() == placed


async def test_the_read_back_ends_the_turn_and_an_order_in_the_same_breath_is_not_run(model, tire):
    agent, context = LLMAgent(), _context()
    calls = [tool_call("read_back_order", call_id="c1", **ORDER)["tool_calls"][0],
             tool_call("create_order", call_id="c2", **ORDER)["tool_calls"][0]]  # fmt: skip
    model.script.append({"content": None, "tool_calls": calls})
    reply = await agent.respond(context, "four for Ivan, my number, pickup")
    assert reply.text.startswith("Let me check.") and not await Order.objects.aexists()
    assert len(model.requests) == 1  # the agent says the read-back: the model is not asked
    model.script.append({"content": "Anything else?"})
    await agent.respond(context, "yes")
    results = tool_results(model.requests[-1].json)
    assert "the read-back ends this turn" in results[-1]["error"]


@pytest.mark.parametrize(
    "changed, error",
    [
        ({"customer_phone": "12345"}, "not a valid phone number"),
        ({"items": [{"sku": "NOK-R5-16", "quantity": 13}]}, "12 in stock"),
        ({"items": [{"sku": "NOPE", "quantity": 4}]}, "no tire with SKU"),
        ({"fulfilment": "delivery"}, "delivery address"),
        ({"customer_name": ""}, "name"),
    ],
)
async def test_values_the_shop_cannot_take_are_not_read_back(model, tire, changed, error):
    agent, context = LLMAgent(), _context()
    model.script.extend([tool_call("read_back_order", **{**ORDER, **changed}), _refused])
    reply = await agent.respond(context, "book them")
    assert reply.text.startswith("Refused:") and error in reply.text
    assert context.expect != "confirm"


async def test_a_placed_order_needs_a_new_read_back_for_another(model, tire):
    agent, context = LLMAgent(), _context()
    await _read_back(model, agent, context)
    model.script.extend([tool_call("create_order", **ORDER), _placed])
    reply = await agent.respond(context, "yes")
    assert reply.outcome == CallOutcome.ORDER_PLACED
    model.script.extend([tool_call("create_order", **ORDER), _refused])
    reply = await agent.respond(context, "yes")
    assert "nothing was read back" in reply.text
    assert await Order.objects.acount() == 1
    assert (await Order.objects.aget()).total == Decimal("15600")
    assert reply.action == Action.CONTINUE
