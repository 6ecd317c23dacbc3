"""The dialogue policy: the order's frame of slots and what the bot does next.

Mixed initiative: every slot heard is taken at any stage, and the bot asks only for the first
thing still missing (size, season, which tire, quantity, name, phone, pickup or delivery, the
address), answers questions and goes on, and places an order only after a yes to a read-back of
every value it will store. A correction changes exactly the field it names. The same question
goes unanswered at most twice; then an operator takes over.
"""

import logging

from ..models import CallOutcome
from . import tools
from .base import Action, AgentReply, CallContext
from .heard_numbers import sizes_like
from .messages import SEASON_WORDS, digits_spoken, money, say
from .readout import offer_options, order_read_back
from .understanding import Heard

logger = logging.getLogger(__name__)

MAX_ASKED = 2  # the same question, unanswered, at most this many times in a row
MAX_QUANTITY = 20
SEARCH_SLOTS = ("size", "rim", "season", "studded", "brand")
ORDER_SLOTS = ("choice", "quantity", "name", "phone", "fulfilment", "address")
FRAME = (*SEARCH_SLOTS, *ORDER_SLOTS, "size_pending", "offers", "suggested", "among")
# What the speech recognizer is told to expect (CallContext.expect) for each question. Offered
# the number they call from, callers say yes or recite a number (theirs or another): a "confirm"
# prompt made Whisper hear "0.05" for "zero six seven, one two three..." through Asterisk, the
# phone prompt hears both.
EXPECT = {
    "size": "size", "size_confirm": "confirm", "season": "season", "choice": "choice",
    "quantity": "quantity", "name": "name", "phone": "phone", "caller_phone": "phone",
    "fulfilment": "fulfilment", "address": "address", "confirm": "confirm",
    "order_number": "order_number",
}  # fmt: skip


class Policy:
    """One call's frame (kept in context.state) and the rules that move it."""

    def __init__(self, context: CallContext) -> None:
        self.context = context
        self.language = context.language
        self.state = context.state
        self.state.setdefault("stage", "start")
        self.progress = False  # something was learnt or answered this turn
        self.answered = False  # the caller asked the bot something this turn, and was answered

    def brands(self) -> list[tuple[str, list[str]]]:
        """The shop's brands, read once per call (not into state: it is no slot)."""
        brands = getattr(self.context, "_brands", None)
        if brands is None:
            brands = tools.brand_spellings()
            self.context._brands = brands
        return brands

    @property
    def stage(self) -> str:
        return self.state["stage"]

    # --- Replies -------------------------------------------------------------------------------

    def say(self, key: str, **values) -> str:
        return say(key, self.language, **values)

    def ask(self, stage: str, text: str, prefix: str = "", apology: bool = False) -> AgentReply:
        """Ask a question; the same one unanswered a third time goes to an operator (the same
        step, however worded: "no order 1 2 3 4, say it again" counts each time; facts given
        instead of its answer don't reset the count). A turn that
        changed no slot and gets the very reply the last one got is no progress either: a caller
        whose every answer is misheard the same way (at the read-back, "open" taken for a
        question about opening hours) is not read back the same order for ever."""
        state = self.state
        frame = repr([state.get(slot) for slot in FRAME])
        said = prefix + text
        repeated = state.get("asked_frame") == frame and state.get("asked_said") == said
        # The very question again, its own slot still empty, though the caller gave other facts
        # ("Anna", "050 ...", "pickup" to "which one?"): unanswered too. A turn in which the
        # caller asked something and was answered is no failed answer.
        unanswered = state.get("asked") == text and not self.answered
        same = state.get("stage") == stage and (not self.progress or repeated or unanswered)
        state["asked_times"] = state.get("asked_times", 0) + 1 if same else 1
        state["asked"] = text
        state["asked_frame"], state["asked_said"] = frame, said
        if state["asked_times"] > MAX_ASKED:
            return self.transfer("transfer_not_understood")
        state["stage"] = stage
        self.context.expect = EXPECT.get(stage, "free")
        if apology and not prefix:
            prefix = self.say("sorry")
        return AgentReply(prefix + text)

    def transfer(self, key: str = "transfer") -> AgentReply:
        self.state["stage"] = "transferred"
        self.context.expect = "free"
        return AgentReply(self.say(key), Action.TRANSFER, CallOutcome.TRANSFERRED)

    def goodbye(self) -> AgentReply:
        self.context.expect = "free"
        return AgentReply(self.say("goodbye"), Action.HANG_UP, self.outcome())

    def outcome(self) -> str:
        if self.state.get("order_number"):
            return CallOutcome.ORDER_PLACED
        return CallOutcome.INFO_GIVEN

    def miss(self) -> AgentReply:
        stage, text = self.current_question()
        return self.ask(stage, text, apology=True)

    def current_question(self) -> tuple[str, str]:
        stage = self.stage
        fixed = {
            "start": "help", "done": "anything_else", "change": "what_to_change",
            "order_number": "ask_order_number",
        }  # fmt: skip
        if stage in fixed:
            return stage, self.say(fixed[stage])
        if stage == "status":
            return "order_number", self.say("ask_order_number")
        return stage, self.state.get("asked") or self.say("help")

    # --- Taking what was heard -----------------------------------------------------------------

    def take(self, heard: Heard) -> AgentReply | None:
        """Fill every slot the utterance speaks to; a reply when a value cannot be taken."""
        state = self.state
        stage = self.stage
        found = heard.search
        if stage in ("name", "address", "phone", "caller_phone"):
            found.pop("brand", None)  # "Соборна" is an address, not a brand
        offers = state.get("offers") or []
        if found.get("brand") and any(o["brand"] == found["brand"] for o in offers):
            found.pop("brand")  # naming an offered brand picks that offer
        if heard.question and "brand" in found and not heard.want_tires:
            found.pop("brand")  # "are Nexen any good?" asks, it does not search
        if heard.question == "studs":
            found.pop("studded", None)  # "are they studded?" neither
            found.pop("season", None)
        if "rim" in found and state.get("size"):
            found["size"] = f"{state['size'].rsplit(' R', 1)[0]} R{found.pop('rim')}"
        if heard.size_guess and "size" not in found:
            reply = self.guess_size(heard)
            if reply:
                return reply
        if found.get("size") and found["size"] != state.get("size"):
            self.near_size(found)
        changed = {k: v for k, v in found.items() if state.get(k) != v}
        if chosen := state.get("choice"):
            # "yes, the winter ones" about the tire chosen changes nothing.
            matches = {"size": chosen["size"], "season": chosen["season"],
                       "studded": chosen["studded"], "brand": chosen["brand"]}  # fmt: skip
            changed = {k: v for k, v in changed.items() if matches.get(k, object()) != v}
        if changed:
            state.update(changed)
            if "size" in changed:
                state.pop("rim", None)
            if "studded" not in changed and "season" in changed and state.get("studded"):
                state.pop("studded")  # "summer" after "studded" drops the studs
            for slot in ("choice", "offers", "suggested", "among"):
                state.pop(slot, None)
            self.progress = True
        elif heard.among and not heard.choice:
            state["among"] = heard.among
            self.progress = True
        elif heard.choice and offers:  # with a question only when picked apart from it
            chosen = offers[heard.choice - 1]
            if (state.get("choice") or {}).get("sku") != chosen["sku"]:
                state["choice"] = chosen
                self.progress = True
        elif (
            stage == "choice"
            and offers
            and state.get("suggested")
            and not heard.no
            and (heard.yes or heard.quantity)
        ):  # "Shall I book these?" - "yes", or "four": the offer the bot spoke of is taken.
            state["choice"] = offers[state["suggested"] - 1]
            self.progress = True
        if heard.quantity is not None and heard.quantity != state.get("quantity"):
            if heard.quantity > MAX_QUANTITY:
                return self.transfer()  # a wholesale order is a person's job
            if heard.quantity < 1:
                return None
            state["quantity"] = heard.quantity
            self.progress = True
        if heard.name and heard.name != state.get("name"):
            state["name"] = heard.name
            self.progress = True
        if heard.phone and heard.phone != state.get("phone"):
            state["phone"] = heard.phone
            self.progress = True
        elif stage in ("caller_phone", "phone") and heard.this_number and self.caller_phone():
            state["phone"] = self.caller_phone()  # "the number I'm calling from"
            self.progress = True
        elif stage == "caller_phone" and heard.yes and not heard.other_number:
            state["phone"] = tools.orders.normalize_phone(self.context.caller_number)
            self.progress = True
        if heard.fulfilment and heard.fulfilment != state.get("fulfilment"):
            state["fulfilment"] = heard.fulfilment
            if heard.fulfilment == "pickup":
                state.pop("address", None)
            self.progress = True
        if heard.address and heard.address != state.get("address"):
            state["address"] = heard.address
            state["fulfilment"] = "delivery"
            self.progress = True
        return None

    def caller_phone(self) -> str | None:
        number = self.context.caller_number
        return tools.orders.normalize_phone(number) if number else None

    def guess_size(self, heard: Heard) -> AgentReply | None:
        """Digits that look like a size speech-to-text garbled: the nearest sizes in stock."""
        rim = heard.rim or self.state.get("rim")
        found, exact = sizes_like(heard.size_guess, rim, tools.sizes_in_stock())
        if not found:
            return None
        self.progress = True
        if exact or len(found) == 1:  # one size in stock is like it: the offer names it
            self.state["size"] = found[0]
            self.clear("rim", "choice", "offers", "suggested")
            return None
        self.state["size_pending"] = found[0]
        return self.ask("size_confirm", self.say("size_did_you_mean", size=found[0]))

    def near_size(self, found: dict) -> None:
        """A full size heard that no tire in stock has, a digit away from one that some have
        ("двести пять" heard as 255 or 225): that size is asked about ("did you mean ...?")
        instead of a search in vain, and the rest of the utterance is still taken."""
        stock = tools.sizes_in_stock()
        if found["size"] in stock:
            return
        width_profile, rim = found["size"].split(" R")
        near, _ = sizes_like(width_profile.replace("/", ""), int(rim), stock)
        if near:
            found.pop("size")
            self.state["size_pending"] = near[0]
            self.state["size_heard"] = f"{width_profile} R{rim}"  # if they say "no" to it
            self.progress = True

    def clear(self, *slots: str) -> None:
        for slot in slots:
            self.state.pop(slot, None)

    def clear_field(self, fields: set[str], address: bool = False) -> bool:
        """ "The phone is wrong": forget the named field so it is asked again."""
        if address and self.state.get("fulfilment") == "delivery":
            self.clear("address")  # "another address": still a delivery, to where?
            self.progress = True
            return True
        order = ("phone", "quantity", "name", "fulfilment", "tire")
        for name in order:
            if name in fields:
                if name == "tire":
                    self.clear("choice", "offers", "suggested")
                elif name == "fulfilment":
                    self.clear("fulfilment", "address")
                else:
                    self.clear(name)
                if name == "phone":
                    self.state["caller_number_declined"] = True
                self.progress = True
                return True
        return False

    # --- What to ask next ----------------------------------------------------------------------

    def next(self, prefix: str = "") -> AgentReply:
        """Ask for the first slot still missing (offering tires once the search is complete)."""
        state = self.state
        if state.get("choice") is None:
            if state.get("size_pending"):
                size = state["size_pending"]
                return self.ask("size_confirm", self.say("size_did_you_mean", size=size), prefix)
            if not state.get("size"):
                if state.get("rim"):
                    return self.ask("size", self.say("ask_full_size", rim=state["rim"]), prefix)
                return self.ask("size", self.say("ask_size"), prefix)
            if not state.get("season"):
                return self.ask("season", self.say("ask_season"), prefix)
            if state.get("offers"):
                return self.ask("choice", self.which_one(), prefix)
            return self.offer(prefix)
        stock = state["choice"]["stock"]
        if state.get("quantity") and state["quantity"] > stock:
            state.pop("quantity")
            return self.ask("quantity", self.say("only_in_stock", stock=stock), prefix)
        if not state.get("quantity"):
            return self.ask("quantity", self.say("ask_quantity"), prefix)
        if not state.get("name"):
            return self.ask("name", self.say("ask_name"), prefix)
        if not state.get("phone"):
            caller = self.context.caller_number
            if (
                caller
                and tools.orders.normalize_phone(caller)
                and not state.get("caller_number_declined")
            ):
                last = " ".join(caller[-2:])
                return self.ask("caller_phone", self.say("ask_caller_phone", last=last), prefix)
            question = self.say("ask_phone")
            if state.get("phone_failures"):
                question = self.say("bad_phone") + " " + self.say("ask_keypad")
            return self.ask("phone", question, prefix)
        if not state.get("fulfilment"):
            return self.ask("fulfilment", self.say("ask_fulfilment"), prefix)
        if state["fulfilment"] == "delivery" and not state.get("address"):
            return self.ask("address", self.say("ask_address"), prefix)
        return self.ask("confirm", order_read_back(self.state, self.language), prefix)

    def which_one(self) -> str:
        offers = self.state["offers"]
        among = [offers[i - 1] for i in self.state.get("among") or () if i <= len(offers)]
        if len(among) > 1:
            models = [offer["model"] for offer in among]
            listed = ", ".join(models[:-1]) + self.say("or") + models[-1]
            return self.say("which_model", brand=among[0]["brand"], models=listed)
        if len(offers) == 1 or self.state.get("suggested"):
            return self.say("offer_one_again")
        return self.say("which_of_two" if len(offers) == 2 else "which_one")

    def offer(self, prefix: str = "") -> AgentReply:
        state = self.state
        season = "" if state.get("season") in (None, "any") else state["season"]
        wanted = state.get("brand")
        tires = tools.search_tires(
            size=state["size"], season=season, brand=wanted or "", studded=state.get("studded")
        )
        if not tires and wanted:
            prefix += self.say("no_brand_but", brand=wanted)
            state.pop("brand", None)
            tires = tools.search_tires(
                size=state["size"], season=season, studded=state.get("studded")
            )
        if not tires:
            what = f"{SEASON_WORDS[state.get('season')][self.language]} {state['size']}"
            self.clear("size", "rim")
            return self.ask("size", self.say("none_found", what=what), prefix)
        state["offers"] = [tire.as_json() for tire in tires]
        if state.pop("pick_cheapest", False):
            # "Continental then, the cheaper one": the search and the pick in one breath.
            cheapest = min(tires, key=lambda tire: tire.price)
            state["choice"] = cheapest.as_json()
            price = money(cheapest.price, self.language)
            tire = f"{cheapest.brand} {cheapest.model}"
            return self.next(prefix + self.say("answer_cheapest", tire=tire, price=price))
        options = offer_options(state["offers"], self.language)
        if len(options) == 1:
            text = self.say("offer_one", size=state["size"], option=options[0])
        else:
            text = self.say("offers", size=state["size"], options="; ".join(options))
        return self.ask("choice", text, prefix)

    # --- The order -----------------------------------------------------------------------------

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
        self.clear("asked", "asked_times", "asked_frame", "asked_said")
        self.context.expect = "free"
        return AgentReply(
            self.say("placed", number=digits_spoken(placed.number)),
            outcome=CallOutcome.ORDER_PLACED,
        )

    def cancel(self) -> AgentReply:
        self.clear(*SEARCH_SLOTS, *ORDER_SLOTS, "offers", "suggested", "size_pending", "size_heard")
        self.progress = True
        return self.ask("done", self.say("cancelled"))
