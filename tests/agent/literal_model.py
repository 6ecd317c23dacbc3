"""A literal stand-in for a language model, for playing the caller corpus to the LLM agent.

It reads nothing but what the agent sends over HTTP: the '[understood: ...]' note after the
caller's words and the tool results. It fills an order's slots from the notes, asks for the first
one missing in the shop's words (calls.agent.messages), searches, reads the order back through
read_back_order and calls create_order when the note says the caller's yes answers the read-back.
It does not understand words itself: what it knows of the caller, our understanding layer told it.

`eager=True` makes it a careless model as well: it tries create_order as soon as it has values
(before any read-back), and at the yes it first tries an order with one more tire. The agent must
refuse both, so the database ends up as with the honest model.
"""

import json
import re
from decimal import Decimal

from calls.agent.messages import STATUS_WORDS, money, say
from tests.helpers.fake_llm_api import tool_call, tool_results

ORDER_SLOTS = ("choice", "quantity", "name", "phone", "fulfilment", "address")
_VALUE = {
    "size": r"size (\d{3}/\d{2} R\d{2})", "rim": r"rim R(\d{2})", "season": r"season (\w+)",
    "brand": r"brand (.+)", "quantity": r"quantity (\d+)", "name": r"name (.+)",
    "phone": r"phone (\+\d+) \(valid\)", "address": r"address (.+)",
    "order_number": r"order number (\d+)", "asks": r"asks about (\w+)$",
    "maybe": r"a size, maybe (.+): ask which",
    "pick": r"picks offer (\d+):", "fields": r"names (.+)",
    "width_profile": r"width and profile (\d{3}/\d{2}), no rim",
}  # fmt: skip


def _note(body: dict) -> tuple[str, dict]:
    """The caller's words and what the agent's note says was understood in them."""
    content = body["messages"][-1]["content"]
    words, _, note = content.partition("\n[understood: ")
    heard: dict = {"flags": set()}
    for item in filter(None, note.rstrip("]").split("; ")):
        for key, pattern in _VALUE.items():
            if match := re.match(pattern, item):
                heard[key] = match[1]
                break
        else:
            heard["flags"].add(item.split(":")[0])
    return words, heard


class LiteralModel:
    def __init__(self, language: str, caller_number: str = "", eager: bool = False) -> None:
        self.language = language
        self.caller = caller_number
        self.eager = eager
        self.slots: dict = {}
        self.offers: list[dict] = []
        self.read_back: dict | None = None
        self.plan: list[dict] = []  # the next messages of this turn, after a tool result
        self.looked_up = False
        self.refusals = 0

    def say(self, key: str, **values) -> str:
        return say(key, self.language, **values)

    def __call__(self, body: dict) -> dict:
        last = body["messages"][-1]
        if last["role"] == "tool":
            result = tool_results(body)[-1]
            if "error" in result and self._last_tool(body) == "create_order":
                self.refusals += 1
            if self.plan:
                return self.plan.pop(0)
            return self._after_tool(self._last_tool(body), result)
        self.plan = []
        return self._turn(*_note(body))

    @staticmethod
    def _last_tool(body: dict) -> str:
        for message in reversed(body["messages"]):
            if message.get("tool_calls"):
                return message["tool_calls"][-1]["function"]["name"]
        return ""

    # --- A caller's turn ------------------------------------------------------------------------

    def _turn(self, words: str, heard: dict) -> dict:
        flags, slots = heard["flags"], self.slots
        if "asks for an operator" in flags:
            return tool_call("transfer_to_operator")
        if self.eager and "not a plain yes to the read-back" in flags and self.read_back:
            # Careless: it orders what it read back, whatever the caller answered.
            self.plan = [self._turn_after_refusal(words, heard)]
            return tool_call("create_order", **self.read_back)
        if "a plain yes to the read-back" in flags and self.read_back:
            order = tool_call("create_order", **self.read_back)
            if self.eager:
                more = json.loads(json.dumps(self.read_back))
                more["items"][0]["quantity"] += 1
                self.plan = [order]
                return tool_call("create_order", **more)
            return order
        if "says goodbye" in flags and not heard.get("name"):
            self.plan = [{"content": self.say("goodbye")}]
            return tool_call("end_call")
        if "cancels" in flags:
            self._clear(*ORDER_SLOTS, "size", "season", "brand", "studded")
            return {"content": self.say("cancelled")}
        asking = slots.get("asking")
        if heard.get("order_number") or "asks about an order" in flags or asking == "order_number":
            return self._status(heard)
        prefix = self._answer(heard)
        if isinstance(prefix, dict):
            return prefix
        before = self._order_values()
        self._take(heard, asking)
        rejected = "not a plain yes to the read-back" in flags
        if rejected and self._order_values() == before and not prefix:
            return self._ask("change", self.say("what_to_change"))
        if self.eager and self._order_values() and not self.read_back:
            self.plan = [self._next(prefix)]
            return tool_call("create_order", **self._order_values())
        return self._next(prefix)

    def _turn_after_refusal(self, words: str, heard: dict) -> dict:
        """What the model does once its careless order is refused: what an honest one does."""
        self.eager = False
        try:
            return self._turn(words, heard)
        finally:
            self.eager = True

    def _answer(self, heard: dict) -> str | dict:
        asks = heard.get("asks")
        if asks in ("delivery", "hours"):
            self.slots["answered"] = True
            return tool_call("shop_info", topic=asks)
        if asks == "price" and self.offers:
            prices = [self.say("price_of", tire=f"{o['brand']} {o['model']}",
                               price=money(Decimal(o["price"]), self.language))
                      for o in self.offers]  # fmt: skip
            return self.say("answer_price", prices="; ".join(prices))
        if asks in ("cheapest", "compare") and self.offers:
            cheap = min(self.offers, key=lambda offer: Decimal(offer["price"]))
            price = money(Decimal(cheap["price"]), self.language)
            return self.say("answer_cheapest", tire=f"{cheap['brand']} {cheap['model']}",
                            price=price)  # fmt: skip
        if asks == "quality" and heard.get("brand"):
            return self.say("answer_quality", brand=heard["brand"])
        return ""

    def _take(self, heard: dict, asking: str | None) -> None:
        slots, flags = self.slots, heard["flags"]
        named = heard.get("fields", "")
        if "not a plain yes to the read-back" in flags or asking == "change":
            for field in ("quantity", "name", "phone"):
                if field in named and not heard.get(field):
                    self._clear(field)
                    slots["declined"] = True
            if "fulfilment" in named and not heard.get("address"):
                self._clear("fulfilment", "address")
            if "tire" in named and not heard.get("pick"):
                self._clear("choice")
        if any(offer["brand"] == heard.get("brand") for offer in self.offers):
            heard.pop("brand")  # naming a brand offered picks that offer
        for key in ("size", "season", "brand"):
            if heard.get(key) and heard[key] != slots.get(key):
                slots[key] = heard[key]
                self._clear("choice", "pending_size")
                self.offers = []
        if "any season" in flags:
            slots["season"] = "any"
        if ("studded" in flags or "not studded" in flags) and slots.get("studded") != (
            "studded" in flags
        ):
            slots["studded"] = "studded" in flags
            self._clear("choice")
            self.offers = []
        if heard.get("rim") and not slots.get("size"):
            slots["rim"] = heard["rim"]
        if heard.get("width_profile") and slots.get("rim") and not heard.get("size"):
            slots["size"] = f"{heard['width_profile']} R{slots['rim']}"
            self._clear("choice")
            self.offers = []
        if heard.get("maybe"):
            slots["pending_size"] = heard["maybe"].split(" or ")[0]
        elif slots.get("pending_size") and "yes" in flags:
            slots["size"] = slots.pop("pending_size")
        if heard.get("pick") and self.offers:
            slots["choice"] = self.offers[int(heard["pick"]) - 1]
        elif "the cheapest" in flags and self.offers:
            slots["choice"] = min(self.offers, key=lambda offer: Decimal(offer["price"]))
        elif "the cheapest" in flags:
            slots["cheapest"] = True
        elif asking == "choice" and len(self.offers) == 1 and "yes" in flags:
            slots["choice"] = self.offers[0]
        for key in ("quantity", "name", "phone", "address"):
            if heard.get(key):
                slots[key] = heard[key]
        if asking == "caller_phone" and "yes" in flags:
            slots["phone"] = self.caller
        if asking == "caller_phone" and "no" in flags:
            slots["declined"] = True
        for kind in ("pickup", "delivery"):
            if kind in flags:
                slots["fulfilment"] = kind
        if heard.get("address"):
            slots["fulfilment"] = "delivery"
        if self.read_back and self._order_values() != self.read_back:
            self.read_back = None

    def _clear(self, *names: str) -> None:
        for name in names:
            self.slots.pop(name, None)

    # --- What to do next --------------------------------------------------------------------

    def _order_values(self) -> dict | None:
        slots = self.slots
        if not all(slots.get(k) for k in ORDER_SLOTS[:5]):
            return None
        if slots["fulfilment"] == "delivery" and not slots.get("address"):
            return None
        values = {
            "items": [{"sku": slots["choice"]["sku"], "quantity": int(slots["quantity"])}],
            "customer_name": slots["name"], "customer_phone": slots["phone"],
            "fulfilment": slots["fulfilment"],
        }  # fmt: skip
        if slots["fulfilment"] == "delivery":
            values["delivery_address"] = slots["address"]
        return values

    def _ask(self, asking: str, text: str, prefix: str = "") -> dict:
        self.slots["asking"] = asking
        return {"content": f"{prefix}{text}"}

    def _next(self, prefix: str = "") -> dict:
        slots = self.slots
        if slots.get("pending_size"):
            return self._ask("size", self.say("size_did_you_mean", size=slots["pending_size"]))
        if not slots.get("size"):
            if slots.get("rim"):
                return self._ask("size", self.say("ask_full_size", rim=slots["rim"]), prefix)
            return self._ask("size", self.say("ask_size"), prefix)
        if not slots.get("season"):
            return self._ask("season", self.say("ask_season"), prefix)
        if not slots.get("choice"):
            if not self.offers:
                found = {"size": slots["size"]}
                if slots["season"] != "any":
                    found["season"] = slots["season"]
                if slots.get("brand"):
                    found["brand"] = slots["brand"]
                if "studded" in slots:
                    found["studded"] = slots["studded"]
                return tool_call("search_tires", **found)
            return self._ask("choice", self.say("which_one"), prefix)
        if not slots.get("quantity"):
            return self._ask("quantity", self.say("ask_quantity"), prefix)
        if not slots.get("name"):
            return self._ask("name", self.say("ask_name"), prefix)
        if not slots.get("phone"):
            if self.caller and not slots.get("declined"):
                last = " ".join(self.caller[-2:])
                return self._ask("caller_phone", self.say("ask_caller_phone", last=last), prefix)
            return self._ask("phone", self.say("ask_phone"), prefix)
        if not slots.get("fulfilment"):
            return self._ask("fulfilment", self.say("ask_fulfilment"), prefix)
        if slots["fulfilment"] == "delivery" and not slots.get("address"):
            return self._ask("address", self.say("ask_address"), prefix)
        self.read_back = self._order_values()
        self.slots["asking"] = "confirm"
        message = tool_call("read_back_order", **self.read_back)
        return {**message, "content": prefix or None}

    def _status(self, heard: dict) -> dict:
        if heard.get("order_number"):
            return tool_call("order_status", number=heard["order_number"])
        if self.caller and not self.looked_up:
            self.looked_up = True
            return tool_call("order_status", phone=self.caller)
        return self._ask("order_number", self.say("ask_order_number"))

    def _after_tool(self, name: str, result: dict) -> dict:
        if name == "search_tires":
            return self._offer(result)
        if name == "shop_info":
            return self._next(result.get("answer", "") + " ")
        if name == "order_status":
            if not result.get("orders"):
                return self._ask("order_number", self.say("no_order_for_phone"))
            order = result["orders"][0]
            status = STATUS_WORDS[order["status"]][self.language]
            self.slots["asking"] = None
            return {"content": f"{order['number']}: {status}. {self.say('anything_else')}"}
        if name == "create_order" and "order_number" in result:
            self.slots, self.offers, self.read_back = {}, [], None
            return {"content": self.say("placed", number=" ".join(result["order_number"]))}
        if name == "create_order":
            return self._next()  # refused: read back again
        if name == "end_call":
            return {"content": self.say("goodbye")}
        if name == "read_back_order":  # refused: the value named is asked again
            error = result.get("error", "")
            for word, slot in (("phone", "phone"), ("stock", "quantity"), ("SKU", "choice"),
                               ("address", "address"), ("name", "name")):  # fmt: skip
                if word in error:
                    self._clear(slot)
            self.read_back = None
            return self._next()
        return {"content": self.say("anything_else")}

    def _offer(self, result: dict) -> dict:
        slots = self.slots
        if result.get("did_you_mean"):
            slots["pending_size"] = result["did_you_mean"][0]
            return self._next()
        tires = result.get("tires") or []
        if not tires and slots.get("brand"):
            self._clear("brand")
            return self._next()
        if not tires:
            self._clear("size", "rim")
            return self._ask("size", self.say("ask_size"))
        self.offers = tires
        if slots.pop("cheapest", False):
            slots["choice"] = min(tires, key=lambda offer: Decimal(offer["price"]))
            return self._next()
        options = [
            self.say("option", n=n, tire=f"{t['brand']} {t['model']}",
                     price=money(Decimal(t["price"]), self.language))
            for n, t in enumerate(tires, 1)
        ]  # fmt: skip
        offered = self.say("offers", size=slots["size"], options="; ".join(options))
        return self._ask("choice", offered)
