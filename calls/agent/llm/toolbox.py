"""One caller turn's tool calls for the LLM agent: each runs a tool of calls/agent/tools.py (which
call the catalog and order services) as one sync unit of ORM work off the event loop, and
remembers what the call should do next (transfer, hang up, the read-back to say)."""

import json
import logging
from decimal import Decimal

from django.conf import settings

from ... import db_threads
from ...models import CallOutcome
from .. import tools
from ..base import Action, CallContext
from ..messages import delivery_terms, say
from . import readback
from .heard import resolve_size

logger = logging.getLogger(__name__)

# Tools that answer a caller's question or read the order back, and change nothing of the call.
ANSWERS = {"read_back_order", "shop_info", "order_status", "check_availability"}
SEARCH_ARGUMENTS = {
    "size", "season", "brand", "studded", "min_price", "max_price", "include_out_of_stock",
}  # fmt: skip


class TurnTools:
    def __init__(self, context: CallContext, turn: int) -> None:
        self.context = context
        self.state = context.state
        self.language = context.language
        self.turn = turn
        self.action = Action.CONTINUE
        self.outcome = ""
        self.needs_words = False  # an action taken with words still to say
        self.read_back: readback.ReadBack | None = None  # read back in this turn: it ends it
        self.progress = False  # a tool did something for the caller this turn
        self.changed = False  # ... beyond answering a question: searched, ordered
        self.calls = 0

    async def run(self, call: dict) -> dict:
        self.calls += 1
        function = call.get("function") or {}
        name = function.get("name", "")
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError:
            return {"error": "the arguments are not JSON"}
        if not isinstance(arguments, dict):
            return {"error": "the arguments must be a JSON object"}
        if self.read_back is not None:
            # The caller hears the read-back now and answers it; nothing else happens first.
            return {"error": "not run: the read-back ends this turn; wait for the caller"}
        if name == "transfer_to_operator":
            self.action, self.outcome = Action.TRANSFER, CallOutcome.TRANSFERRED
            return {"ok": True}
        if name == "end_call":
            self.action = Action.HANG_UP
            self.outcome = self.outcome or (
                CallOutcome.ORDER_PLACED
                if self.state.get("llm_order_number")
                else CallOutcome.INFO_GIVEN
            )
            self.needs_words = True  # the model says goodbye in its next message
            return {"ok": True}
        try:
            result = await db_threads.run("agent", self._run_tool, name, arguments)
        except tools.ToolError as error:
            # Not the reason: it quotes the caller's name and phone number.
            logger.info("call %s: the tool %s refused", self.context.call_uuid, name)
            return {"error": str(error)}
        # Reading the order back again is the same question, not progress.
        self.progress = self.progress or name != "read_back_order"
        self.changed = self.changed or name not in ANSWERS
        return result

    def _run_tool(self, name: str, arguments: dict) -> dict:
        if name == "search_tires":
            return self._search({k: v for k, v in arguments.items() if k in SEARCH_ARGUMENTS})
        if name == "check_availability":
            tire = tools.check_availability(str(arguments.get("sku", "")))
            return {"tire": tire.as_json() if tire else None}
        if name == "shop_info":
            return self._shop_info(str(arguments.get("topic", "")))
        if name == "order_status":
            found = tools.order_status(
                number=str(arguments.get("number") or ""), phone=str(arguments.get("phone") or "")
            )
            return {"orders": [order.as_json() for order in found]}
        if name == "read_back_order":
            self.read_back = readback.prepare(arguments, self.language, self.turn)
            self.state["llm_read_back"] = self.read_back
            return {
                "read_back": self.read_back.text,
                "total": self.read_back.total,
                "note": "the caller hears this read-back now; create_order only after their yes",
            }
        if name == "create_order":
            return self._create_order(arguments)
        raise tools.ToolError(f"there is no tool {name!r}")

    def _search(self, arguments: dict) -> dict:
        size = str(arguments.get("size") or "")
        result: dict = {}
        if size:
            asked = self.state.setdefault("llm_sizes_asked", [])
            found = resolve_size(size, self.language, asked)
            if found.candidates:
                if found.not_in_stock:  # asked about once: searched again, it stands
                    asked.append(found.not_in_stock)
                return {
                    "tires": [],
                    "did_you_mean": list(found.candidates),
                    "note": "the sizes in stock like the one heard: ask which the caller meant",
                }
            if found.size:
                arguments["size"] = found.size
                result["size"] = found.size
            if found.resolved_from:
                result["size_heard_as"] = found.resolved_from
        tires = [tire.as_json() for tire in tools.search_tires(**arguments)]
        self.state["llm_offers"] = tires
        return {"tires": tires, **result}

    def _shop_info(self, topic: str) -> dict:
        if topic == "delivery":
            return {"answer": delivery_terms(self.language).strip()}
        if topic == "hours":
            hours = settings.SHOP_HOURS.get(self.language, "")
            key = "answer_hours" if hours else "hours_unknown"
            return {"answer": say(key, self.language, hours=hours).strip()}
        raise tools.ToolError("topic must be delivery or hours")

    def _create_order(self, arguments: dict) -> dict:
        # Enforced here, not left to the prompt: the values read back, and the caller's yes.
        confirmed = readback.check(self.state.get("llm_read_back"), arguments, self.turn)
        attempt = self.state.get("llm_order_attempt", 0) + 1
        self.state["llm_order_attempt"] = attempt
        placed = tools.create_order(
            self.context.call_uuid,
            confirmed.items,
            confirmed.name,
            confirmed.phone,
            confirmed.fulfilment,
            confirmed.address,
            attempt=attempt,
        )
        self.state["llm_read_back"] = None  # another order needs its own read-back and yes
        self.state["llm_order_number"] = placed.number
        self.outcome = CallOutcome.ORDER_PLACED
        return {"order_number": placed.number, "total": str(Decimal(placed.total))}

    def say_on_action(self) -> str:
        return say("transfer", self.language)
