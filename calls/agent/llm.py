"""The LLM agent: OpenAI-compatible chat completions with tool calling.

It works with OpenAI and with the self-hosted servers that speak the same API (Ollama, vLLM,
llama.cpp's server, LocalAI). The model gets a system prompt in the call's language and the
tools of calls/agent/tools.py. The agent runs the tools the model calls and hands their results
back, until the model answers in words. Two safeguards live in code, not in the prompt: an
order is placed only after the caller has just said yes, and a model that is slow, away or
talking nonsense hands the caller to an operator with an apology.
"""

import asyncio
import json
import logging
import re
from decimal import Decimal

from channels.db import database_sync_to_async
from django.conf import settings

from ..http_api import APIClient, APIError
from ..models import CallOutcome
from ..prompts import APOLOGY_TRANSFER, prompt
from . import lexicon, tools
from .base import Action, Agent, AgentReply, CallContext
from .messages import say

logger = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 4  # model calls per caller turn; more means it is going round in circles
HISTORY_MESSAGES = 40  # the system prompt plus the latest messages are sent

SYSTEM_PROMPTS = {
    "en": (
        "You are the phone assistant of {shop}, a tire shop. You speak English, briefly: one or "
        "two short sentences, no lists, no markdown, numbers as digits. You help callers find "
        "tires (use search_tires; offer at most three, with price), place orders and tell "
        "order status. Before create_order, read the whole order back (tire with season, size, "
        "quantity, total, name, phone, pickup or delivery with address) and ask the caller to "
        "confirm; call create_order only after they say yes. Prices are in {currency}. "
        "{caller}If the caller asks for a person, or you cannot help, call transfer_to_operator. "
        "When the caller is done, say goodbye and call end_call."
    ),
    "uk": (
        "Ви — телефонний помічник шинного центру {shop}. Говоріть українською, коротко: одне-два "
        "речення, без списків і розмітки, числа цифрами. Допомагайте підібрати шини (search_"
        "tires; пропонуйте не більше трьох, з ціною), оформити замовлення і дізнатися його "
        "статус. Перед create_order прочитайте замовлення повністю (шини з сезоном, розмір, "
        "кількість, сума, ім'я, телефон, самовивіз чи доставка з адресою) і попросіть підтвердити; "
        "викликайте create_order лише після «так». Ціни в {currency}. {caller}Якщо клієнт "
        "просить людину або ви не можете допомогти — transfer_to_operator. Коли клієнт "
        "закінчив — попрощайтеся і викличте end_call."
    ),
    "ru": (
        "Вы — телефонный помощник шинного центра {shop}. Говорите по-русски, коротко: одно-два "
        "предложения, без списков и разметки, числа цифрами. Помогайте подобрать шины (search_"
        "tires; предлагайте не больше трех, с ценой), оформить заказ и узнать его статус. Перед "
        "create_order прочитайте заказ полностью (шины с сезоном, размер, количество, сумма, имя, "
        "телефон, самовывоз или доставка с адресом) и попросите подтвердить; вызывайте "
        "create_order только после «да». Цены в {currency}. {caller}Если клиент просит "
        "человека или вы не можете помочь — transfer_to_operator. Когда клиент закончил — "
        "попрощайтесь и вызовите end_call."
    ),
}
CALLER_HINT = {
    "en": "The caller is calling from {number}; offer it as the order's phone. ",
    "uk": "Клієнт телефонує з номера {number}; запропонуйте його для замовлення. ",
    "ru": "Клиент звонит с номера {number}; предложите его для заказа. ",
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_tires",
            "description": "Find tires in stock, best first (a full set in stock, then cheapest).",
            "parameters": {
                "type": "object",
                "properties": {
                    "size": {"type": "string", "description": "e.g. 205/55 R16, or R17 alone"},
                    "season": {"type": "string", "enum": ["winter", "summer", "all_season"]},
                    "brand": {"type": "string"},
                    "studded": {"type": "boolean"},
                    "min_price": {"type": "number"},
                    "max_price": {"type": "number"},
                    "include_out_of_stock": {"type": "boolean"},
                },
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "check_availability",
            "description": "Price and stock of one tire by SKU.",
            "parameters": {
                "type": "object",
                "properties": {"sku": {"type": "string"}},
                "required": ["sku"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "create_order",
            "description": "Place the order the caller has just confirmed.",
            "parameters": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "sku": {"type": "string"},
                                "quantity": {"type": "integer", "minimum": 1},
                            },
                            "required": ["sku", "quantity"],
                        },
                    },
                    "customer_name": {"type": "string"},
                    "customer_phone": {"type": "string"},
                    "fulfilment": {"type": "string", "enum": ["pickup", "delivery"]},
                    "delivery_address": {"type": "string"},
                },
                "required": ["items", "customer_name", "customer_phone", "fulfilment"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "order_status",
            "description": "An order by its number, or the latest orders of a phone number.",
            "parameters": {
                "type": "object",
                "properties": {"number": {"type": "string"}, "phone": {"type": "string"}},
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "transfer_to_operator",
            "description": "Hand the call to a human operator.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "end_call",
            "description": "End the call after saying goodbye.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]


class LLMAgent(Agent):
    name = "llm"

    def __init__(self, base_url: str | None = None, api_key: str | None = None, model: str = ""):
        key = settings.LLM_API_KEY if api_key is None else api_key
        self.model = model or settings.LLM_MODEL
        self.api = APIClient(
            "llm",
            base_url or settings.LLM_API_URL,
            {"Authorization": f"Bearer {key}"} if key else {},
            settings.LLM_TIMEOUT,
        )

    async def respond(self, context: CallContext, text: str) -> AgentReply:
        messages = context.state.setdefault("llm_messages", [])
        messages.append({"role": "user", "content": text})
        turn = _Turn(context, text)
        try:
            for _ in range(MAX_TOOL_ROUNDS):
                message = await asyncio.to_thread(self._complete, context, messages)
                messages.append(message)
                calls = message.get("tool_calls") or []
                if not calls:
                    content = (message.get("content") or "").strip()
                    if not content:
                        raise APIError("llm: an empty answer")
                    return AgentReply(content, turn.action, turn.outcome)
                for call in calls:
                    result = await turn.run(call)
                    messages.append(
                        {
                            "role": "tool",
                            "tool_call_id": call.get("id", ""),
                            "content": json.dumps(result, ensure_ascii=False),
                        }
                    )
                if turn.action != Action.CONTINUE and not turn.needs_words:
                    return AgentReply(turn.say_on_action(), turn.action, turn.outcome)
            raise APIError(f"llm: no answer after {MAX_TOOL_ROUNDS} rounds of tool calls")
        except (APIError, ValueError, KeyError, IndexError, TypeError) as error:
            # Slow, away or talking nonsense: the caller hears the stored apology and a person.
            logger.warning("call %s: the LLM agent failed: %s", context.call_uuid, error)
            return AgentReply(
                prompt(APOLOGY_TRANSFER, context.language),
                Action.TRANSFER,
                CallOutcome.TRANSFERRED,
                f"the LLM agent failed: {error}"[:200],
            )

    def _complete(self, context: CallContext, messages: list[dict]) -> dict:
        caller = (
            CALLER_HINT.get(context.language, CALLER_HINT["en"]).format(
                number=context.caller_number
            )
            if context.caller_number
            else ""
        )
        system = SYSTEM_PROMPTS.get(context.language, SYSTEM_PROMPTS["en"]).format(
            shop=settings.SHOP_NAME, currency=settings.SHOP_CURRENCY, caller=caller
        )
        payload = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, *messages[-HISTORY_MESSAGES:]],
            "tools": TOOLS,
            "tool_choice": "auto",
            "temperature": 0.2,
            "max_tokens": 300,
        }
        body = self.api.post_json("chat/completions", payload)
        message = body["choices"][0]["message"]
        if not isinstance(message, dict):
            raise APIError("llm: the answer has no message")
        return {
            key: message[key]
            for key in ("role", "content", "tool_calls")
            if message.get(key) is not None
        }


def _not_read_back(context: CallContext, arguments: dict) -> str:
    """What of the order the bot's message before the caller's yes did not say: the name, the
    phone's last digits, a quantity ("" when all were said)."""
    from catalog.spoken import words_to_digits

    messages = context.state.get("llm_messages", [])
    users = [i for i, message in enumerate(messages) if message.get("role") == "user"]
    before = messages[: users[-1]] if users else []
    said = next(
        (m.get("content") or "" for m in reversed(before) if m.get("role") == "assistant"), ""
    )
    digits = words_to_digits(said)
    if str(arguments.get("customer_name", "")).strip().lower() not in said.lower():
        return "the name"
    phone = re.sub(r"\D", "", str(arguments.get("customer_phone", "")))
    if phone[-4:] not in re.sub(r"\D", "", digits):
        return "the phone"
    for item in arguments.get("items", []):
        if not re.search(rf"(?<!\d){int(item.get('quantity', 0))}(?!\d)", digits):
            return "the quantity"
    return ""


class _Turn:
    """One caller turn's tool calls: runs them and remembers the action they ask for."""

    def __init__(self, context: CallContext, text: str) -> None:
        self.context = context
        self.confirmed = lexicon.Heard(text).yes
        self.action = Action.CONTINUE
        self.outcome = ""
        self.needs_words = False  # an action taken with words still to say

    async def run(self, call: dict) -> dict:
        function = call.get("function") or {}
        name = function.get("name", "")
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError:
            return {"error": "the arguments are not JSON"}
        if not isinstance(arguments, dict):
            return {"error": "the arguments must be a JSON object"}
        if name == "transfer_to_operator":
            self.action, self.outcome = Action.TRANSFER, CallOutcome.TRANSFERRED
            return {"ok": True}
        if name == "end_call":
            self.action = Action.HANG_UP
            self.outcome = self.outcome or CallOutcome.INFO_GIVEN
            self.needs_words = True  # the model says goodbye in its next message
            return {"ok": True}
        try:
            return await database_sync_to_async(self._run_tool)(name, arguments)
        except tools.ToolError as error:
            return {"error": str(error)}

    def _run_tool(self, name: str, arguments: dict) -> dict:
        if name == "search_tires":
            allowed = {
                "size", "season", "brand", "studded", "min_price", "max_price",
                "include_out_of_stock",
            }  # fmt: skip
            found = tools.search_tires(**{k: v for k, v in arguments.items() if k in allowed})
            return {"tires": [tire.as_json() for tire in found]}
        if name == "check_availability":
            tire = tools.check_availability(str(arguments.get("sku", "")))
            return {"tire": tire.as_json() if tire else None}
        if name == "order_status":
            found = tools.order_status(
                number=str(arguments.get("number") or ""), phone=str(arguments.get("phone") or "")
            )
            return {"orders": [order.as_json() for order in found]}
        if name == "create_order":
            if not self.confirmed:
                # Enforced here, not left to the prompt: nothing is ordered without a yes.
                raise tools.ToolError(
                    "the caller has not confirmed: read the order back and ask them first"
                )
            if missing := _not_read_back(self.context, arguments):
                # ... and the yes must answer a read-back of what is stored.
                raise tools.ToolError(
                    f"the order was not read back ({missing} not said): read back the tire with "
                    "its season, quantity, total, name, phone, pickup or address, and ask again"
                )
            items = [(str(i["sku"]), int(i["quantity"])) for i in arguments.get("items", [])]
            attempt = self.context.state.get("llm_order_attempt", 0) + 1
            self.context.state["llm_order_attempt"] = attempt
            placed = tools.create_order(
                self.context.call_uuid,
                items,
                str(arguments.get("customer_name", "")),
                str(arguments.get("customer_phone", "")),
                str(arguments.get("fulfilment", "pickup")),
                str(arguments.get("delivery_address", "")),
                attempt=attempt,
            )
            self.outcome = CallOutcome.ORDER_PLACED
            return {"order_number": placed.number, "total": str(Decimal(placed.total))}
        raise tools.ToolError(f"there is no tool {name!r}")

    def say_on_action(self) -> str:
        return say("transfer", self.context.language)
