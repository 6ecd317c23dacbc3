"""The LLM agent against a local server speaking the chat completions API, with the model's side
scripted: the agent runs the tools the model calls on the real catalog and orders, hands the
results back, speaks the model's words, and falls back to an operator when the model fails."""

import json
import uuid
from decimal import Decimal

import pytest

from calls.agent.base import Action, CallContext
from calls.agent.llm import MAX_TOOL_ROUNDS, LLMAgent
from calls.models import CallOutcome
from orders.models import Fulfilment, Order
from tests.helpers.fake_llm_api import tool_call, tool_results
from tests.helpers.fake_speech_api import API_KEY

pytestmark = pytest.mark.django_db(transaction=True)


def _context(language: str = "en", caller_number: str = "") -> CallContext:
    return CallContext(uuid.uuid4(), language, caller_number=caller_number)


ORDER = {
    "items": [{"sku": "NOK-R5-16", "quantity": 4}],
    "customer_name": "Ivan",
    "customer_phone": "067 123 45 67",
    "fulfilment": "pickup",
}


async def test_a_search_a_read_back_and_a_confirmed_order_through_the_models_tool_calls(
    model, tire
):
    agent, context = LLMAgent(), _context()

    def offer(body):
        (found,) = tool_results(body)
        first = found["tires"][0]
        return {"content": f"I have {first['brand']} {first['model']} at {first['price']}."}

    def placed(body):
        return {"content": f"Done, your order number is {tool_results(body)[-1]['order_number']}."}

    model.script.extend(
        [
            tool_call("search_tires", size="205/55 R16", season="winter"),
            offer,
            tool_call("read_back_order", **ORDER),
            tool_call("create_order", **ORDER),
            placed,
        ]
    )
    reply = await agent.respond(context, "I need winter tires 205/55 R16")
    assert reply.text == "I have Nokian Hakkapeliitta R5 at 3900.00."
    assert reply.action == Action.CONTINUE
    reply = await agent.respond(context, "Four of those, I'm Ivan, 067 123 45 67, I'll pick up")
    # The read-back is the agent's own words: every value to be stored, the total worked out.
    assert reply.text == (
        "Let me check. Winter tires Nokian Hakkapeliitta R5, 205/55 R16, quantity 4, 15600 "
        "hryvnias in total. Name: Ivan. Phone: 0 6 7, 1 2 3, 4 5, 6 7. Pickup at the shop. "
        "Shall I place the order?"
    )
    assert context.expect == "confirm" and not await Order.objects.aexists()
    reply = await agent.respond(context, "Yes")

    order = await Order.objects.aget(source_call__uuid=context.call_uuid)
    assert reply.text == f"Done, your order number is {order.number}."
    assert reply.outcome == CallOutcome.ORDER_PLACED
    item = await order.items.select_related("tire").aget()
    assert (item.tire.sku, item.quantity, order.customer_phone) == ("NOK-R5-16", 4, "+380671234567")
    assert order.fulfilment == Fulfilment.PICKUP and order.total == Decimal("15600")

    first = model.requests[0]
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert first.json["model"] == "test-model"
    assert {tool["function"]["name"] for tool in first.json["tools"]} >= {
        "search_tires", "check_availability", "shop_info", "read_back_order", "create_order",
        "order_status", "transfer_to_operator", "end_call",
    }  # fmt: skip
    assert first.json["messages"][0]["role"] == "system"
    # The whole dialogue goes back each time: the model remembers the call, the read-back too.
    last = model.requests[-1].json["messages"]
    assert [m["role"] for m in last][1:3] == ["user", "assistant"]
    assert any(m["role"] == "assistant" and m.get("content", "").startswith("Let me check")
               for m in last)  # fmt: skip


async def test_no_order_is_placed_without_a_read_back(model, tire):
    agent, context = LLMAgent(), _context()
    model.script.extend(
        [
            tool_call("create_order", **ORDER),
            {"content": "Let me read your order back first."},
        ]
    )
    reply = await agent.respond(context, "Four Nokian for Ivan, 0671234567, pickup")
    assert reply.text == "Let me read your order back first."
    assert not await Order.objects.aexists()
    assert "nothing was read back" in tool_results(model.requests[-1].json)[-1]["error"]


async def test_a_yes_to_the_models_own_summary_places_no_order(model, tire):
    """The model's words are no read-back: only read_back_order's, said by the agent."""
    agent, context = LLMAgent(), _context()
    model.script.extend(
        [
            {"content": "Four Nokian, 15600 in total, Ivan, 067 123 45 67, pickup. Confirm?"},
            tool_call("create_order", **ORDER),
            {"content": "Let me read your order back first."},
        ]
    )
    await agent.respond(context, "Four Nokian for Ivan, 0671234567, pickup")
    reply = await agent.respond(context, "Yes")
    assert reply.text == "Let me read your order back first."
    assert not await Order.objects.aexists()
    assert "nothing was read back" in tool_results(model.requests[-1].json)[-1]["error"]


async def test_the_system_prompt_speaks_the_call_language_and_knows_the_callers_number(model):
    model.script.append({"content": "Добрий день!"})
    await LLMAgent().respond(_context("uk", caller_number="+380671234567"), "Добрий день")
    system = model.requests[0].json["messages"][0]["content"]
    assert "українською" in system and "+380671234567" in system


async def test_the_system_prompt_follows_the_call_into_another_language(model):
    """CALL_LANGUAGES=uk,ru: greeted in Ukrainian, the call moved to Russian (calls/language.py
    sets context.language): the model is told to speak Russian from the next turn on."""
    model.script.extend([{"content": "Добрий день!"}, {"content": "Конечно."}])
    agent, context = LLMAgent(), _context("uk")
    await agent.respond(context, "Добрий день")
    context.language = "ru"
    await agent.language_switched(context, "Можно по-русски?")
    first, second = (r.json["messages"][0]["content"] for r in model.requests)
    assert "українською" in first and "по-русски" in second and "українською" not in second


async def test_transfer_and_end_call_become_the_calls_actions(model):
    model.script.append(tool_call("transfer_to_operator"))
    reply = await LLMAgent().respond(_context(), "I want to talk to a person")
    assert reply.action == Action.TRANSFER and reply.outcome == CallOutcome.TRANSFERRED
    assert "operator" in reply.text

    model.script.extend([tool_call("end_call"), {"content": "Goodbye!"}])
    reply = await LLMAgent().respond(_context(), "That's all, thanks")
    assert (reply.text, reply.action) == ("Goodbye!", Action.HANG_UP)


async def test_a_model_that_is_away_slow_or_looping_hands_over_to_an_operator(model, settings):
    agent = LLMAgent()
    model.down.add("/v1/chat/completions")
    reply = await agent.respond(_context(), "Hello")
    assert reply.action == Action.TRANSFER and "technical trouble" in reply.text
    assert len(model.requests) == 2  # one retry, then the operator
    model.down.clear()

    model.delay = 3.0  # LLM_TIMEOUT is 2 s
    assert (await agent.respond(_context(), "Hello")).action == Action.TRANSFER
    model.delay = 0

    model.script.extend([tool_call("check_availability", sku="X")] * MAX_TOOL_ROUNDS)
    assert (await agent.respond(_context(), "Hello")).action == Action.TRANSFER


async def test_a_busy_model_is_tried_once_more(model):
    model.fail_next(503)
    model.script.append({"content": "Hello! How can I help?"})
    reply = await LLMAgent().respond(_context(), "Hello")
    assert reply.text == "Hello! How can I help?" and reply.action == Action.CONTINUE


async def test_bad_tool_arguments_are_reported_to_the_model_not_the_caller(model, tire):
    model.script.extend(
        [
            {"content": None, "tool_calls": [{"id": "c1", "type": "function",
              "function": {"name": "search_tires", "arguments": "{not json"}}]},
            tool_call("search_tires", size="banana"),
            {"content": "What size do you need?"},
        ]
    )  # fmt: skip
    reply = await LLMAgent().respond(_context(), "Tires please")
    assert reply.text == "What size do you need?"
    errors = [json.loads(m["content"]) for m in model.requests[-1].json["messages"]
              if m["role"] == "tool"]  # fmt: skip
    assert errors[0] == {"error": "the arguments are not JSON"}
    assert "not a tire size" in errors[1]["error"]
