"""The embedded rule-based agent: a dialogue state machine with slot filling.

Every utterance is read for everything it may say (a size, a rim, a season, a brand, a quantity,
pickup or delivery, a name, a phone number, yes or no, "operator"); what it says fills the
order's slots, and the agent then asks for the first thing still missing. So a caller who says
it all at once is asked nothing twice, a correction ("no, I meant R17") at any point searches
again, and nothing is done before the caller confirms a read-back. Three misunderstandings in a
row, or "operator" (or 0 on the keypad), hand the call to an operator.

The dialogue logic is synchronous: one turn is one unit of work over the services, run through
`database_sync_to_async` off the event loop.
"""

import logging
import re
from decimal import Decimal

from channels.db import database_sync_to_async

from catalog import services as catalog
from catalog.spoken import digit_groups, words_to_digits

from ..models import CallOutcome
from . import lexicon, tools
from .base import Action, Agent, AgentReply, CallContext
from .messages import (
    SEASON_WORDS,
    STATUS_WORDS,
    digits_spoken,
    money,
    phone_spoken,
    say,
)

logger = logging.getLogger(__name__)

MAX_MISSES = 3  # misunderstandings in a row before an operator takes over
MAX_QUANTITY = 20
_QUANTITY_BEFORE_TIRES = re.compile(
    r"(?<!\d)(?P<n>\d{1,2})[\s-]+(?:[^\W\d_]+[\s-]+){0,2}?"
    r"(?:tires|tyres|tire|tyre|шин[^\W\d_]*|колес[^\W\d_]*|резин[^\W\d_]*|штук[^\W\d_]*)"
)
_FOR_TIRES = re.compile(r"\bfor\s+((?:[^\W\d_]+\s+)?(?:tires|tyres))\b")
_FIELD_WORDS = {
    "quantity": lexicon._words("quantity", "how many", "number of tires", "кількість",
                               "количество", "скільки", "сколько"),
    "name": lexicon._words("name", "ім'я", "імя", "имя"),
    "phone": lexicon._words("phone", "number", "телефон*", "номер"),
    "fulfilment": lexicon._words("delivery", "pickup", "доставк*", "самовивіз", "самовывоз"),
    "tire": lexicon._words("tire", "tires", "tyres", "шини", "шин", "модель", "model", "brand",
                           "бренд", "size", "розмір", "размер"),
}  # fmt: skip

SEARCH_SLOTS = ("size", "rim", "season", "brand", "studded")
ORDER_SLOTS = ("choice", "quantity", "name", "phone", "fulfilment", "address")


class Reply(Exception):
    """Raised inside a turn to answer at once."""

    def __init__(self, reply: AgentReply) -> None:
        self.reply = reply


class RuleBasedAgent(Agent):
    name = "rules"

    async def respond(self, context: CallContext, text: str) -> AgentReply:
        return await database_sync_to_async(self.turn)(context, text, keyed=False)

    async def respond_keys(self, context: CallContext, digits: str) -> AgentReply:
        return await database_sync_to_async(self.turn)(context, digits, keyed=True)

    # --- One turn ------------------------------------------------------------------------------

    def turn(self, context: CallContext, text: str, *, keyed: bool = False) -> AgentReply:
        dialogue = Dialogue(context)
        try:
            reply = dialogue.step(lexicon.Heard(text), keyed=keyed)
        except Reply as answer:
            reply = answer.reply
        except tools.ToolError:
            logger.exception("call %s: a tool failed", context.call_uuid)
            reply = dialogue.transfer("order_failed")
        return reply


class Dialogue:
    """One call's dialogue state (kept in context.state) and the rules that move it."""

    def __init__(self, context: CallContext) -> None:
        self.context = context
        self.language = context.language
        self.state = context.state
        self.state.setdefault("stage", "start")
        self.state.setdefault("misses", 0)

    # --- Replies -------------------------------------------------------------------------------

    def say(self, key: str, **values) -> str:
        return say(key, self.language, **values)

    def reply(self, text: str, action: Action = Action.CONTINUE, outcome: str = "") -> AgentReply:
        return AgentReply(text, action, outcome)

    def goodbye(self) -> AgentReply:
        return self.reply(self.say("goodbye"), Action.HANG_UP, self._outcome())

    def transfer(self, key: str = "transfer") -> AgentReply:
        self.state["stage"] = "transferred"
        return AgentReply(self.say(key), Action.TRANSFER, CallOutcome.TRANSFERRED)

    def miss(self, question: str) -> AgentReply:
        """The utterance was of no use here: ask again, or hand over after too many."""
        self.state["misses"] += 1
        if self.state["misses"] >= MAX_MISSES:
            return self.transfer("transfer_not_understood")
        return self.reply(self.say("sorry") + question)

    # --- The turn ------------------------------------------------------------------------------

    def step(self, heard: lexicon.Heard, *, keyed: bool) -> AgentReply:
        stage = self.state["stage"]
        if (keyed and heard.text.strip("#") == "0") or (not keyed and heard.has(lexicon.OPERATOR)):
            return self.transfer()
        if keyed:
            return self.keyed(heard.text.strip("#*"))
        if heard.has(lexicon.FAREWELL) and stage not in ("name", "address"):
            return self.goodbye()
        if stage == "status" or (
            stage in ("start", "done") and heard.has(lexicon.STATUS) and not self._has_size(heard)
        ):
            return self.status(heard)
        if stage == "done":
            return self.after_order(heard)
        if stage == "confirm":
            return self.confirm(heard)
        if stage in ("name", "address", "phone", "caller_phone"):
            # Free answers: the whole utterance is the name, the address or the number.
            return getattr(self, f"on_{stage}")(heard)
        learnt = self.read_slots(heard, stage)
        if stage == "offer" and "offers" in self.state:
            learnt |= self.choose_offer(heard)
        elif stage == "change" and not learnt:
            return self.on_change(heard)
        if learnt:
            self.state["misses"] = 0
            return self.next_question()
        if stage in ("start", "size") and heard.has(lexicon.WANT_TIRES):
            self.state["stage"] = "size"
            return self.reply(self.say("ask_size"))
        if stage == "offer" and heard.no and heard.has(lexicon.GOODBYE):
            return self.goodbye()  # "no, thanks"
        if stage == "offer" and heard.no:
            self.clear(*SEARCH_SLOTS, "offers")
            self.state["stage"] = "size"
            return self.reply(self.say("ask_size"))
        return self.miss(self.current_question())

    def keyed(self, digits: str) -> AgentReply:
        """Digits keyed on the phone: an order number, or the phone number being asked for."""
        stage = self.state["stage"]
        if stage in ("phone", "caller_phone"):
            return self.take_phone(digits) or self.next_question()
        if stage == "quantity" and digits.isdigit():
            return self.take_quantity(int(digits)) or self.next_question()
        if digits.isdigit() and len(digits) >= 4:
            return self.lookup(number=digits)
        return self.miss(self.current_question())

    # --- Reading slots --------------------------------------------------------------------------

    @staticmethod
    def _has_size(heard: lexicon.Heard) -> bool:
        return catalog.parse_spoken_size(heard.text) is not None

    def read_slots(self, heard: lexicon.Heard, stage: str) -> bool:
        """Fill every slot the utterance speaks to; True when something new was learnt."""
        state = self.state
        learnt = False
        searching = stage in ("start", "offer", "size", "change")
        if stage not in ("name", "address", "phone", "caller_phone"):
            search_changed = self.read_search(heard, searching)
            learnt |= search_changed
            if quantity := self.quantity_in(heard, anywhere=stage != "quantity"):
                answer = self.take_quantity(quantity)
                if answer is not None:
                    raise Reply(answer)
                learnt = True
            if fulfilment := heard.fulfilment:
                if state.get("fulfilment") != fulfilment:
                    state["fulfilment"] = fulfilment
                    learnt = True
        return learnt

    def read_search(self, heard: lexicon.Heard, searching: bool) -> bool:
        """Size, rim, season, brand and studs; a change starts the search over."""
        state = self.state
        found: dict = {}
        if size := catalog.parse_spoken_size(heard.text):
            found["size"] = str(size)
        elif (rim := catalog.parse_rim(heard.text)) is not None:
            if state.get("size"):
                width_profile = state["size"].rsplit(" R", 1)[0]
                found["size"] = f"{width_profile} R{rim}"
            else:
                found["rim"] = rim
        if season := heard.season:
            found["season"] = season
        if (studded := heard.studded) is not None:
            found["studded"] = studded
            if studded:
                found.setdefault("season", "winter")
        if searching or state.get("choice") is not None:
            brand = catalog.match_brand(heard.text)
            if brand is not None and not self._names_offered_brand(brand.name):
                found["brand"] = brand.name
        changed = {k: v for k, v in found.items() if state.get(k) != v}
        if not changed:
            return False
        state.update(changed)
        if "size" in changed:
            state.pop("rim", None)
        # Another tire is wanted: choose again (the rest of the order stays).
        state.pop("choice", None)
        state.pop("offers", None)
        return True

    def _names_offered_brand(self, brand: str) -> bool:
        """A brand named while choosing among offers picks an offer, not a new search."""
        return self.state.get("stage") == "offer" and any(
            offer["brand"] == brand for offer in self.state.get("offers", [])
        )

    def quantity_in(self, heard: lexicon.Heard, *, anywhere: bool) -> int | None:
        # "four tires" often comes back from speech-to-text as "for tires".
        normalized = _FOR_TIRES.sub(r"4 \1", words_to_digits(heard.text))
        if match := _QUANTITY_BEFORE_TIRES.search(normalized):
            return int(match["n"])
        if heard.has(lexicon.SET_OF_FOUR):
            return 4
        if heard.has(lexicon.PAIR):
            return 2
        if not anywhere:
            groups = [int(g) for g in digit_groups(heard.text) if len(g) <= 2]
            if groups:
                return groups[0]
        return None

    def take_quantity(self, quantity: int) -> AgentReply | None:
        if not 1 <= quantity <= MAX_QUANTITY:
            return self.miss(self.say("ask_quantity"))
        choice = self.state.get("choice")
        if choice and quantity > choice["stock"]:
            self.state["stage"] = "quantity"
            return self.reply(self.say("only_in_stock", stock=choice["stock"]))
        self.state["quantity"] = quantity
        return None

    def take_phone(self, said: str) -> AgentReply | None:
        digits = "".join(digit_groups(said)) or re.sub(r"\D", "", said)
        phone = tools.orders.normalize_phone(digits) if len(digits) >= 7 else None
        if phone is None:
            return self.miss(self.say("bad_phone"))
        self.state["phone"] = phone
        self.state["misses"] = 0
        return None

    # --- Stage handlers (when read_slots learnt nothing) ---------------------------------------

    def choose_offer(self, heard: lexicon.Heard) -> bool:
        """The caller picks one of the tires offered: by place, by brand, the cheapest, or yes
        to the only one."""
        offers = self.state.get("offers", [])
        chosen = heard.ordinal(len(offers))
        if chosen is None:
            brand = catalog.match_brand(heard.text)
            names = [offer["brand"] for offer in offers]
            if brand is not None and brand.name in names:
                chosen = names.index(brand.name) + 1
        if chosen is None and heard.has(lexicon.CHEAPEST):
            chosen = min(range(len(offers)), key=lambda i: float(offers[i]["price"])) + 1
        if chosen is None and heard.yes and len(offers) == 1:
            chosen = 1
        if chosen is None:
            return False
        self.state["choice"] = offers[chosen - 1]
        return True

    def on_name(self, heard: lexicon.Heard) -> AgentReply | None:
        name = self.name_in(heard)
        if name is None:
            return self.miss(self.say("ask_name"))
        self.state["name"] = name
        self.state["misses"] = 0
        return self.next_question()

    def on_phone(self, heard: lexicon.Heard) -> AgentReply | None:
        return self.take_phone(heard.text) or self.next_question()

    def on_caller_phone(self, heard: lexicon.Heard) -> AgentReply | None:
        if heard.yes:
            self.state["phone"] = tools.orders.normalize_phone(self.context.caller_number)
            return self.next_question()
        if len("".join(digit_groups(heard.text))) >= 7:
            return self.on_phone(heard)
        if heard.no:
            self.state["caller_number_declined"] = True
            self.state["stage"] = "phone"
            return self.reply(self.say("ask_phone"))
        return self.miss(self.say("ask_caller_phone", last=self.context.caller_number[-2:]))

    def on_address(self, heard: lexicon.Heard) -> AgentReply | None:
        address = heard.text.strip(" .")
        if len(address) < 5:
            return self.miss(self.say("ask_address"))
        self.state["address"] = address
        return self.next_question()

    def on_change(self, heard: lexicon.Heard) -> AgentReply | None:
        """After "no" to the read-back: the caller names what to change."""
        for field, pattern in _FIELD_WORDS.items():
            if heard.has(pattern):
                if field == "tire":
                    self.clear("choice", "offers")
                elif field == "fulfilment":
                    self.clear("fulfilment", "address")
                else:
                    self.clear(field)
                if field == "phone":
                    self.state["caller_number_declined"] = True
                self.state["misses"] = 0
                return self.next_question()
        if name := self.name_in(heard, introduced_only=True):
            self.state["name"] = name
            return self.next_question()
        return self.miss(self.say("what_to_change"))

    # --- Confirmation and the order ------------------------------------------------------------

    def confirm(self, heard: lexicon.Heard) -> AgentReply:
        if heard.yes:
            return self.place_order()
        # A correction in the same breath: "no, I meant R17", "no, six tires", "no, delivery".
        self.state["stage"] = "change"
        if self.read_slots(heard, "change"):
            self.state["misses"] = 0
            return self.next_question()
        if name := self.name_in(heard, introduced_only=True):
            self.state["name"] = name
            return self.next_question()
        digits = "".join(digit_groups(heard.text))
        if len(digits) >= 9 and self.take_phone(digits) is None:
            return self.next_question()
        if heard.no:
            return (
                self.on_change(heard)
                if self._names_a_field(heard)
                else self.reply(self.say("what_to_change"))
            )
        self.state["stage"] = "confirm"
        return self.miss(self.read_back())

    def _names_a_field(self, heard: lexicon.Heard) -> bool:
        return any(heard.has(pattern) for pattern in _FIELD_WORDS.values())

    def read_back(self) -> str:
        choice, quantity = self.state["choice"], self.state["quantity"]
        fulfilment = (
            self.say("delivery_to", address=self.state["address"])
            if self.state["fulfilment"] == "delivery"
            else self.say("pickup")
        )
        return self.say(
            "confirm",
            quantity=quantity,
            tire=f"{choice['brand']} {choice['model']}, {choice['size']}",
            total=money(Decimal(choice["price"]) * quantity, self.language),
            name=self.state["name"],
            phone=phone_spoken(self.state["phone"]),
            fulfilment=fulfilment,
        )

    def place_order(self) -> AgentReply:
        state = self.state
        state["attempt"] = state.get("attempt", 0) + 1
        try:
            placed = tools.create_order(
                self.context.call_uuid,
                [(state["choice"]["sku"], state["quantity"])],
                state["name"],
                state["phone"],
                state["fulfilment"],
                state.get("address", ""),
                attempt=state["attempt"],
            )
        except tools.ToolError as error:
            logger.warning("call %s: the order was not placed: %s", self.context.call_uuid, error)
            return self.transfer("order_failed")
        state["stage"] = "done"
        state["order_number"] = placed.number
        state["misses"] = 0
        return self.reply(
            self.say("placed", number=digits_spoken(placed.number)),
            outcome=CallOutcome.ORDER_PLACED,
        )

    def after_order(self, heard: lexicon.Heard) -> AgentReply:
        if self._has_size(heard) or heard.has(lexicon.WANT_TIRES) or heard.yes:
            self.clear(*SEARCH_SLOTS, *ORDER_SLOTS, "offers")
            self.state["stage"] = "start"
            self.read_slots(heard, "start")
            return self.next_question()
        if heard.no or heard.has(lexicon.GOODBYE):
            return self.goodbye()
        return self.miss(self.say("anything_else"))

    def _outcome(self) -> str:
        if self.state.get("order_number"):
            return CallOutcome.ORDER_PLACED
        return CallOutcome.INFO_GIVEN

    # --- Order status --------------------------------------------------------------------------

    def status(self, heard: lexicon.Heard) -> AgentReply:
        self.state["stage"] = "status"
        number = "".join(g for g in digit_groups(heard.text) if g)
        if len(number) >= 4:
            return self.lookup(number=number)
        if self.context.caller_number and not self.state.get("looked_up_caller"):
            self.state["looked_up_caller"] = True
            found = tools.order_status(phone=self.context.caller_number)
            if found:
                return self.tell_status(found[0])
            return self.reply(self.say("no_order_for_phone"))
        if heard.has(lexicon.STATUS):
            return self.reply(self.say("ask_order_number"))
        return self.miss(self.say("ask_order_number"))

    def lookup(self, *, number: str) -> AgentReply:
        found = tools.order_status(number=number)
        if not found:
            self.state["stage"] = "status"
            return self.miss(self.say("no_order", number=digits_spoken(number)))
        return self.tell_status(found[0])

    def tell_status(self, order: tools.OrderInfo) -> AgentReply:
        items = "; ".join(
            self.say("item", tire=name, quantity=quantity) for quantity, name in order.items
        )
        status = STATUS_WORDS.get(order.status, {}).get(self.language, order.status)
        self.state["stage"] = "done"
        self.state["misses"] = 0
        text = self.say("status", number=digits_spoken(order.number), items=items, status=status)
        return self.reply(f"{text} {self.say('anything_else')}", outcome=self._outcome())

    # --- What to ask next ----------------------------------------------------------------------

    def next_question(self) -> AgentReply:
        """Ask for the first slot still missing (searching when the search is complete)."""
        state = self.state
        if state.get("choice") is None:
            if state.get("offers"):
                state["stage"] = "offer"
                return self.reply(self.say("which_one"))
            if state.get("size"):
                return self.offer()
            if state.get("rim"):
                state["stage"] = "size"
                return self.reply(self.say("ask_full_size", rim=state["rim"]))
            state["stage"] = "size"
            return self.reply(self.say("ask_size"))
        if state.get("quantity") and state["quantity"] > state["choice"]["stock"]:
            state.pop("quantity")
            state["stage"] = "quantity"
            return self.reply(self.say("only_in_stock", stock=state["choice"]["stock"]))
        for slot, stage, question in (
            ("quantity", "quantity", "ask_quantity"),
            ("name", "name", "ask_name"),
        ):
            if not state.get(slot):
                state["stage"] = stage
                return self.reply(self.say(question))
        if not state.get("phone"):
            caller = self.context.caller_number
            if (
                caller
                and tools.orders.normalize_phone(caller)
                and not state.get("caller_number_declined")
            ):
                state["stage"] = "caller_phone"
                return self.reply(self.say("ask_caller_phone", last=" ".join(caller[-2:])))
            state["stage"] = "phone"
            return self.reply(self.say("ask_phone"))
        if not state.get("fulfilment"):
            state["stage"] = "fulfilment"
            return self.reply(self.say("ask_fulfilment"))
        if state["fulfilment"] == "delivery" and not state.get("address"):
            state["stage"] = "address"
            return self.reply(self.say("ask_address"))
        state["stage"] = "confirm"
        return self.reply(self.read_back())

    def current_question(self) -> str:
        stage = self.state["stage"]
        return {
            "start": self.say("help"),
            "size": self.say("ask_size"),
            "offer": self.say("which_one"),
            "quantity": self.say("ask_quantity"),
            "name": self.say("ask_name"),
            "phone": self.say("ask_phone"),
            "fulfilment": self.say("ask_fulfilment"),
            "address": self.say("ask_address"),
            "status": self.say("ask_order_number"),
            "change": self.say("what_to_change"),
            "done": self.say("anything_else"),
        }.get(stage, self.say("help"))

    def offer(self) -> AgentReply:
        state = self.state
        wanted_brand = state.get("brand")
        tires = tools.search_tires(
            size=state["size"],
            season=state.get("season") or "",
            brand=wanted_brand or "",
            studded=state.get("studded"),
        )
        prefix = ""
        if not tires and wanted_brand:
            prefix = self.say("no_brand_but", brand=wanted_brand)
            state.pop("brand", None)
            tires = tools.search_tires(
                size=state["size"], season=state.get("season") or "", studded=state.get("studded")
            )
        if not tires:
            state["stage"] = "size"
            season = SEASON_WORDS[state.get("season")][self.language]
            what = f"{season} {state['size']}"
            return self.reply(prefix + self.say("none_found", what=what))
        state["offers"] = [tire.as_json() for tire in tires]
        state["stage"] = "offer"
        options = [
            self.say(
                "option",
                n=n,
                tire=f"{tire.brand} {tire.model}",
                price=money(tire.price, self.language),
            )
            for n, tire in enumerate(tires, 1)
        ]
        if len(options) == 1:
            option = options[0].split(", ", 1)[1]
            return self.reply(prefix + self.say("offer_one", size=state["size"], option=option))
        return self.reply(
            prefix + self.say("offers", size=state["size"], options="; ".join(options))
        )

    # --- Helpers -------------------------------------------------------------------------------

    def clear(self, *slots: str) -> None:
        for slot in slots:
            self.state.pop(slot, None)

    def name_in(self, heard: lexicon.Heard, *, introduced_only: bool = False) -> str | None:
        if match := lexicon.NAME_INTRO.search(heard.lower):
            name = match["name"]
        elif introduced_only:
            return None
        else:
            name = heard.lower
        name = re.sub(r"[^\w\s'-]", " ", name).strip()
        words = [w for w in name.split() if not w.isdigit()][:3]
        if not words or heard.yes or (heard.no and len(words) == 1):
            return None
        return " ".join(word[:1].upper() + word[1:] for word in words)
