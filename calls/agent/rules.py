"""The embedded rule-based agent: understanding (understanding.py) read by a dialogue policy
(policy.py), one turn at a time.

Every utterance is read for everything it says; the policy takes every slot heard, answers
questions, asks only for what is still missing and places an order only after a yes to a full
read-back. "Operator" (or 0 on the keypad), or the same question unanswered twice, hands the call
to an operator. A turn is synchronous, one unit of work over the services, run off the event
loop in a database thread (calls/db_threads.py).
"""

import copy
import logging
import re

from .. import db_threads
from ..models import CallOutcome
from ..prompts import LANGUAGE_SWITCHED, prompt
from . import tools
from .answers import Answers
from .asides import Asides
from .base import Action, Agent, AgentReply, CallContext
from .heard_numbers import valid_phone
from .lexicon import is_not_name
from .messages import STATUS_WORDS, digits_spoken
from .policy import MAX_ASKED, MAX_QUANTITY, ORDER_SLOTS, SEARCH_SLOTS, Policy
from .understanding import Heard, understand

logger = logging.getLogger(__name__)

# What each stage asks, as understanding reads a bare answer.
_ASKING = {"start": "free", "done": "free", "size_confirm": "size", "status": "order_number"}
# Questions a bare "yes" cannot answer: it agrees with what came before them.
OPEN_QUESTIONS = ("quantity", "name", "phone", "address")


class RuleBasedAgent(Agent):
    name = "rules"

    async def respond(self, context: CallContext, text: str) -> AgentReply:
        return await db_threads.run("agent", self.turn, context, text, keyed=False)

    async def respond_keys(self, context: CallContext, digits: str) -> AgentReply:
        return await db_threads.run("agent", self.turn, context, digits, keyed=True)

    async def language_switched(self, context: CallContext, text: str) -> AgentReply:
        return await db_threads.run("agent", self.switched, context, text)

    def switched(self, context: CallContext, text: str) -> AgentReply:
        """ "Можна російською?": "Конечно, ..." in the new language, then the answer to what
        else the caller said or, when that was all, the call's question again in it."""
        before, expect = copy.deepcopy(context.state), context.expect
        reply = self.turn(context, text)
        if not Dialogue(context).progress_in(before):
            context.state.clear()
            context.state.update(before)
            context.expect = expect
            reply = Dialogue(context).again()
        ack = prompt(LANGUAGE_SWITCHED, context.language)
        return AgentReply(f"{ack} {reply.text}", reply.action, reply.outcome, reply.reason)

    def turn(self, context: CallContext, text: str, *, keyed: bool = False) -> AgentReply:
        dialogue = Dialogue(context)
        try:
            return dialogue.keyed(text.strip("#* ")) if keyed else dialogue.step(text)
        except tools.ToolError:
            logger.exception("call %s: a tool failed", context.call_uuid)
            return dialogue.transfer("order_failed")


class Dialogue(Answers, Asides, Policy):
    """One turn: what was heard, moved through the policy."""

    def step(self, text: str) -> AgentReply:
        """An aside answered ("алло?", "добрий день", "можна англійською?"); what else was said
        with a language the shop does not speak ("can I speak English? I need tires") is taken
        as usual, after the answer to it."""
        if self.stage == "transferred":
            return self.transfer()
        aside = self.aside(text)
        if isinstance(aside, AgentReply):
            return aside
        if not aside:
            return self.heard(text)
        before, expect = copy.deepcopy(self.state), self.context.expect
        reply = self.heard(text)
        # An operator or goodbye asked for with it is one too; a transfer for misses is not.
        ended = reply.action != Action.CONTINUE and self.state.get("asked_times", 0) <= MAX_ASKED
        if self.progress_in(before) or ended:
            return AgentReply(aside + reply.text, reply.action, reply.outcome, reply.reason)
        self.state.clear()
        self.state.update(before)  # nothing else said: no miss either
        self.context.expect = expect
        return self.again_with(aside)

    def heard(self, text: str) -> AgentReply:
        state, stage = self.state, self.stage
        heard = understand(
            text,
            self.language,
            _ASKING.get(stage, stage),
            self.brands(),
            state.get("offers") or (),
        )
        if heard.operator:
            return self.transfer()
        if heard.farewell and stage == "confirm" and heard.yes and not heard.search:
            placed = self.place_order()  # "yes, thank you, goodbye" to the read-back
            if placed.outcome != CallOutcome.ORDER_PLACED:
                return placed
            goodbye = self.goodbye()
            return AgentReply(f"{placed.text} {goodbye.text}", goodbye.action, placed.outcome)
        if heard.farewell and stage not in ("name", "address"):
            return self.goodbye()
        ordering = bool(heard.search or (heard.want_tires and not heard.status))
        if (stage == "order_number" and (heard.order_number or not ordering)) or (
            heard.status and stage in ("start", "done") and not heard.search
        ):
            return self.status(heard)
        if heard.cancel and stage not in ("start", "done"):
            return self.cancel()
        if stage == "done":
            if heard.question and not ordering:
                answer = self.answer(heard)
                return self.ask("done", self.say("anything_else"), answer)
            if not (ordering or heard.yes):
                return self.goodbye() if heard.no or heard.done else self.miss()
            self.clear(*SEARCH_SLOTS, *ORDER_SLOTS, "offers", "suggested")
            self.progress = True
        answer = self.answer(heard) if heard.question else ""
        if heard.question and not answer and not state.get("offers"):
            if not (heard.yes or heard.no or heard.search or heard.size_guess):
                answer = self.say("answer_later")  # "how much?" before the tires are found
        if stage == "size_confirm":
            pending = state.get("size_pending")
            said = state.get("size_heard")
            if heard.yes and pending and "size" not in heard.search:
                state["size"] = pending
                self.clear("rim", "choice", "offers", "suggested", "size_pending", "size_heard")
                self.progress = True
            elif heard.no and said and not heard.search:
                # "Did you mean 205/55?" - "No, sixty-five": the size they said stands, and
                # the search says honestly that none is in stock, rather than forget it.
                state["size"] = said
                self.clear("rim", "choice", "offers", "suggested", "size_pending", "size_heard")
                self.progress = True
            elif heard.no or "size" in heard.search or "rim" in heard.search:
                self.clear("size", "rim", "size_pending", "size_heard")
                if heard.no and not heard.search:
                    return self.ask("size", self.say("ask_size"))
        if stage in ("confirm", "change") and self.about_address(heard):
            heard.quantity, heard.address_named = None, True  # "не Киевская, а Независимости 10"
        if reply := self.take(heard):
            return reply
        self.with_town(heard)
        if heard.cheapest and not heard.question and not state.get("offers"):
            state["pick_cheapest"] = True
        if heard.phone_tried and not heard.phone:
            state["phone_failures"] = state.get("phone_failures", 0) + 1
            if stage in ("confirm", "change"):
                self.clear_field({"phone"})  # "the phone is wrong, 050 ..." not heard whole
            return self.next()  # the question itself says the number was not whole
        if stage == "confirm":
            if self.progress:
                return self.next(answer)  # a value changed: read back again
            if heard.yes:
                return self.place_order()
            if (heard.no or heard.correction) and self.clear_field(
                heard.fields, heard.address_named
            ):
                return self.next(answer)
            if heard.no:
                return self.ask("change", self.say("what_to_change"))
        if stage == "change":
            if self.progress or self.clear_field(heard.fields, heard.address_named) or heard.yes:
                self.progress = True
                return self.next(answer)
        if stage == "caller_phone" and (heard.no or heard.other_number) and not self.progress:
            state["caller_number_declined"] = True
            self.progress = True
            return self.next()
        if self.progress or answer:
            return self.next(answer)
        if heard.correction and self.clear_field(heard.fields, heard.address_named):
            return self.next()
        if stage == "fulfilment" and heard.yes and state.get("asked_delivery"):
            state["fulfilment"] = "delivery"  # "how much is delivery?" ... "yes, deliver them"
            self.progress = True
            return self.next()
        if stage == "start" and heard.want_tires:
            self.progress = True
            return self.next()
        if stage == "start" and heard.done:
            return self.goodbye()
        if stage == "choice" and heard.yes and len(state.get("offers") or ()) > 1:
            return self.ask("choice", self.which_one())
        if stage == "choice" and heard.no:
            if heard.done:
                return self.goodbye()  # "no, thanks"
            # None of these: nothing is ordered; a new size or brand starts a new search.
            self.clear(*SEARCH_SLOTS, "offers", "suggested")
            self.progress = True
            return self.ask("done", self.say("anything_else"))
        if heard.yes and not heard.no and stage in OPEN_QUESTIONS:
            # "The cheapest is X ... What name?" - "Yes.": agreement with what was offered, not
            # a failed answer; the question stands, without "sorry" (still counted: a caller
            # who only ever says "yes" reaches an operator).
            return self.ask(*self.current_question())
        return self.miss()

    def with_town(self, heard: Heard) -> None:
        """ "Доставка в Київ" ... "вулиця Хрещатик 10": the town said first leads the address
        given later in one part; an address of several parts names its own town."""
        state = self.state
        if heard.town and state.get("fulfilment") == "delivery" and not state.get("address"):
            state["town"] = heard.town
        town, address = state.get("town"), state.get("address")
        if town and address and heard.address and "," not in address:
            if town.lower()[:4] not in address.lower():
                state["address"] = f"{town}, {address}"
        if address or state.get("fulfilment") != "delivery":
            state.pop("town", None)

    def about_address(self, heard: Heard) -> bool:
        """At the read-back, words of the address said again ("не Київська, а Незалежності 10"):
        the caller corrects the address, and its house number is no quantity."""
        address = self.state.get("address") or ""
        if heard.address or "quantity" in heard.fields or not address:
            return False
        from rapidfuzz import fuzz

        own = [w for w in re.findall(r"[^\W\d_]{4,}", address.lower()) if not is_not_name(w)]
        said = re.findall(r"[^\W\d_]{4,}", heard.lower)
        return any(fuzz.ratio(a, b) >= 85 for a in own for b in said)

    def progress_in(self, before: dict) -> bool:
        """Whether the frame holds another slot value than `before` did."""
        slots = (*SEARCH_SLOTS, *ORDER_SLOTS, "order_number")
        return any(self.state.get(slot) != before.get(slot) for slot in slots)

    def again(self) -> AgentReply:
        """The question the call is at, asked anew (in the call's language, which may have just
        changed), not counted as unanswered."""
        self.progress = True
        if self.stage in ("start", "done", "change", "order_number", "status"):
            return self.ask(*self.current_question())
        if self.stage == "transferred":
            return self.transfer()
        return self.next()

    def keyed(self, digits: str) -> AgentReply:
        """Digits keyed on the phone: "0" for an operator, the phone number or quantity asked
        for, a choice among the offers, or an order number."""
        state, stage = self.state, self.stage
        if digits == "0" or stage == "transferred":
            return self.transfer()
        if stage in ("phone", "caller_phone"):
            if phone := valid_phone(digits):
                state["phone"] = phone
                self.progress = True
                return self.next()
            state["phone_failures"] = state.get("phone_failures", 0) + 1
            return self.next()
        if not digits.isdigit():
            return self.miss()
        if stage == "quantity" and 1 <= int(digits) <= MAX_QUANTITY:
            state["quantity"] = int(digits)
            self.progress = True
            return self.next()
        offers = state.get("offers") or []
        if stage == "choice" and 1 <= int(digits) <= len(offers):
            state["choice"] = offers[int(digits) - 1]
            self.progress = True
            return self.next()
        if len(digits) >= 4:
            return self.lookup(digits)
        return self.miss()

    # --- Order status --------------------------------------------------------------------------

    def status(self, heard: Heard) -> AgentReply:
        if heard.order_number:
            return self.lookup(heard.order_number)
        caller = self.context.caller_number
        if caller and not self.state.get("looked_up_caller"):
            self.state["looked_up_caller"] = True
            found = tools.order_status(phone=caller)
            if found:
                return self.tell_status(found[0])
            return self.ask("order_number", self.say("no_order_for_phone"))
        self.progress = self.progress or heard.status
        return self.ask("order_number", self.say("ask_order_number"), apology=not heard.status)

    def lookup(self, number: str) -> AgentReply:
        found = tools.order_status(number=number)
        if not found:
            return self.ask("order_number", self.say("no_order", number=digits_spoken(number)))
        return self.tell_status(found[0])

    def tell_status(self, order: tools.OrderInfo) -> AgentReply:
        items = "; ".join(
            self.say("item", tire=name, quantity=quantity) for quantity, name in order.items
        )
        status = STATUS_WORDS.get(order.status, {}).get(self.language, order.status)
        self.progress = True
        text = self.say("status", number=digits_spoken(order.number), items=items, status=status)
        reply = self.ask("done", self.say("anything_else"), prefix=text + " ")
        return AgentReply(reply.text, reply.action, reply.outcome or self.outcome())
