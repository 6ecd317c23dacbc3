"""The caller dialogue corpus (tests/agent/dialogues/): each dialogue is played to the agent turn by
turn on the sample catalog, and what the call left in the database is judged. An order that is not
the one the caller asked for (or any order where none was asked for) is WRONG, worse than none.

The per-language table (passed, wrong orders, mean turns, repeated questions) is printed at the
end of the session by tests/agent/conftest.py.
"""

import dataclasses
import uuid
from collections.abc import Iterable
from decimal import Decimal

import pytest
from django.test import override_settings

from calls.agent.base import Action, AgentReply, CallContext
from calls.agent.rules import RuleBasedAgent
from calls.models import TurnRole
from catalog.models import Brand, Tire
from catalog.sample_catalog import generate, load_sample_catalog
from orders import services
from orders.models import Order, OrderStatus
from tests.agent.corpus import (
    LANGUAGES,
    STATUS_WORDS,
    Dialogue,
    Result,
    load_dialogues,
    mentions_any,
    order_mismatches,
)

CORPUS = load_dialogues()
# The way to a given order's status, from new.
STATUS_PATH = {
    OrderStatus.NEW: [],
    OrderStatus.CONFIRMED: [OrderStatus.CONFIRMED],
    OrderStatus.COMPLETED: [OrderStatus.CONFIRMED, OrderStatus.COMPLETED],
    OrderStatus.CANCELLED: [OrderStatus.CANCELLED],
}


def agent_turn(context: CallContext, text: str, keyed: bool) -> AgentReply:
    """The one place the corpus reaches the agent: another agent is plugged in here."""
    return RuleBasedAgent().turn(context, text, keyed=keyed)


@pytest.fixture(scope="module")
def sample_catalog(django_db_setup, django_db_blocker):
    """The sample catalog, loaded once for the module; each dialogue's orders and stock changes
    are rolled back with its test."""
    with django_db_blocker.unblock():
        load_sample_catalog()
    yield
    with django_db_blocker.unblock():
        Tire.objects.all().delete()
        Brand.objects.all().delete()


class Call:
    """One dialogue played to the agent: the transcript and the figures for the table."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue
        self.context = CallContext(
            uuid.uuid4(), dialogue.language, caller_number=dialogue.caller_number
        )
        self.replies: list[AgentReply] = []
        self.transcript: list[str] = []
        self.turns = 0
        self.repeated = 0
        self.problems: list[str] = []

    def play(self) -> None:
        languages = list(self.dialogue.shop_languages)
        with override_settings(CALL_LANGUAGES=languages, CALL_LANGUAGE=languages[0]):
            self._play()

    def _play(self) -> None:
        last_text, last_expect = None, None
        for turn in self.dialogue.turns:
            slots = _slots(self.context.state)
            self.context.history.append((TurnRole.CALLER, turn.text))
            reply = agent_turn(self.context, turn.text, turn.keyed)
            self.context.history.append((TurnRole.BOT, reply.text))
            self.turns += 1
            self.replies.append(reply)
            said = f"keys {turn.text}" if turn.keyed else turn.text
            self.transcript += [f"  caller: {said}", f"  bot:    {reply.text}  [{reply.action}]"]
            # Asked again: the same words, or the same question with nothing new understood
            # (after a caller's own question the bot rightly asks its question again).
            same_question = (
                self.context.expect == last_expect
                and self.context.expect != "free"
                and not turn.question
                and _slots(self.context.state) == slots
            )
            if reply.text == last_text or same_question:
                self.repeated += 1
            last_text, last_expect = reply.text, self.context.expect
            if turn.reply_mentions_any and not mentions_any(reply.text, turn.reply_mentions_any):
                self.problems.append(
                    f"the reply to {turn.text!r} mentions none of {list(turn.reply_mentions_any)}"
                )
            if reply.action in (Action.TRANSFER, Action.HANG_UP):
                break

    @property
    def transferred(self) -> bool:
        return any(reply.action == Action.TRANSFER for reply in self.replies)


def _slots(state: dict) -> list:
    """The call's remembered values, without counters and flags: what a caller's words fill."""

    def values(item) -> Iterable:
        if isinstance(item, dict):
            for key, value in sorted(item.items(), key=lambda pair: str(pair[0])):
                yield from ((key, leaf) for leaf in values(value))
        elif isinstance(item, list | tuple):
            for value in item:
                yield from values(value)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            yield from values({f.name: getattr(item, f.name) for f in dataclasses.fields(item)})
        elif not isinstance(item, int | bool):
            yield repr(item)

    return list(values(state))


def _place_given_orders(dialogue: Dialogue) -> set[int]:
    """The orders a status dialogue asks about, with their numbers and statuses as written."""
    placed = set()
    for given in dialogue.given_orders:
        width, rest = given["size"].split("/")
        profile, rim = rest.split(" R")
        tires = Tire.objects.of_size(int(width), int(profile), int(rim)).filter(
            stock_quantity__gte=given.get("quantity", 4)
        )
        if "season" in given:
            tires = tires.filter(season=given["season"])
        if "brand" in given:
            tires = tires.filter(brand__name__iexact=given["brand"])
        tire = tires.order_by("price").first()
        assert tire, f"no tire in the sample catalog for the given order {given}"
        order = services.place_order(
            customer_name=given.get("name", "Олена Коваленко"),
            customer_phone=given.get("phone", "+380671234567"),
            lines=[services.Line(tire.pk, given.get("quantity", 4))],
        )
        Order.objects.filter(pk=order.pk).update(number=str(given["number"]))
        for status in STATUS_PATH[given.get("status", OrderStatus.NEW)]:
            services.change_status(order.pk, status)
        placed.add(order.pk)
    return placed


def _judge(call: Call, given: set[int]) -> tuple[str, list[str]]:
    """passed, failed or wrong, and why."""
    dialogue = call.dialogue
    orders = list(Order.objects.exclude(pk__in=given))
    problems = list(call.problems)
    expected = dialogue.expect.get("order")
    if expected is not None:
        if not orders:
            return "failed", [*problems, "no order was placed"]
        if len(orders) > 1:
            return "wrong", [*problems, f"{len(orders)} orders placed, expected 1"]
        mismatches = order_mismatches(expected, orders[0])
        if mismatches:
            return "wrong", [*problems, *mismatches]
        return ("failed" if problems else "passed"), problems
    if orders:
        placed = ", ".join(f"{o.number} ({o.items.first()})" for o in orders)
        return "wrong", [*problems, f"an order was placed where none was asked for: {placed}"]
    if "transfer" in dialogue.expect and not call.transferred:
        problems.append("the call was not transferred to an operator")
    if "status_told" in dialogue.expect:
        number = str(dialogue.expect["status_told"])
        given_order = next(g for g in dialogue.given_orders if str(g["number"]) == number)
        words = STATUS_WORDS[given_order.get("status", "new")][dialogue.language]
        if not any(mentions_any(reply.text, words) for reply in call.replies):
            problems.append(f"no reply told the status of order {number} (any of {words})")
    if "no_order" in dialogue.expect and call.transferred:
        problems.append("the call was transferred, though the caller needed no operator")
    return ("failed" if problems else "passed"), problems


@pytest.mark.django_db
@pytest.mark.parametrize("dialogue", CORPUS, ids=lambda dialogue: dialogue.id)
def test_dialogue(dialogue: Dialogue, sample_catalog, request) -> None:
    given = _place_given_orders(dialogue)
    call = Call(dialogue)
    call.play()
    verdict, problems = _judge(call, given)
    result = Result(dialogue.id, dialogue.language, verdict, call.turns, call.repeated, problems)
    request.node.user_properties.append(("corpus_result", dataclasses.asdict(result)))
    heading = "WRONG ORDER" if verdict == "wrong" else "FAILED"
    assert verdict == "passed", "\n".join(
        [f"{heading}: {dialogue.id} ({dialogue.source}): {dialogue.note}", *problems,
         "transcript:", *call.transcript]
    )  # fmt: skip


def test_the_corpus_is_big_enough_in_every_language() -> None:
    for language in LANGUAGES:
        count = sum(dialogue.language == language for dialogue in CORPUS)
        assert count >= 50, f"{count} {language} dialogues; the corpus needs at least 50 each"


def test_every_expected_order_can_be_placed_from_the_sample_catalog() -> None:
    """A dialogue may only expect a tire the sample catalog has, in the quantity asked for."""
    catalog = generate()
    for dialogue in CORPUS:
        expected = dialogue.expect.get("order")
        if expected is None:
            continue
        fits = [
            tire
            for tire in catalog
            if f"{tire.width}/{tire.profile} R{tire.rim_diameter}" == expected["size"]
            and tire.season == expected.get("season", tire.season)
            and tire.studded == expected.get("studded", tire.studded)
            and tire.brand.lower() == str(expected.get("brand", tire.brand)).lower()
            and tire.model.lower() == str(expected.get("model", tire.model)).lower()
            and tire.stock_quantity >= expected["quantity"]
            and tire.price > Decimal(0)
        ]
        assert fits, f"{dialogue.id}: no tire in the sample catalog fits {expected}"


def test_every_expected_phone_is_a_valid_number() -> None:
    for dialogue in CORPUS:
        expected = dialogue.expect.get("order")
        if expected is not None:
            assert services.normalize_phone(expected["phone"]) == expected["phone"], dialogue.id
        if dialogue.caller_number:
            assert services.normalize_phone(dialogue.caller_number), dialogue.id


@pytest.mark.django_db
def test_an_order_unlike_the_callers_is_wrong_and_a_missing_one_failed(sample_catalog) -> None:
    dialogue = Dialogue(
        id="judge",
        language="en",
        note="",
        turns=(),
        expect={"order": {"size": "205/55 R16", "season": "summer", "brand": "Kumho",
                          "quantity": 4, "name": "anna", "phone": "+380671234567",
                          "fulfilment": "pickup"}},
    )  # fmt: skip
    call = Call(dialogue)
    assert _judge(call, set())[0] == "failed"

    def place(brand: str) -> Order:
        tire = Tire.objects.of_size(205, 55, 16).get(season="summer", brand__name=brand)
        return services.place_order(
            customer_name="Anna Shevchenko",
            customer_phone="+380671234567",
            lines=[services.Line(tire.pk, 4)],
        )

    wrong = place("Triangle")
    verdict, problems = _judge(call, set())
    assert verdict == "wrong" and problems == ["brand Triangle, expected Kumho"]
    assert _judge(call, {wrong.pk}) == ("failed", ["no order was placed"])
    place("Kumho")
    assert _judge(call, {wrong.pk}) == ("passed", [])
    no_order = Dialogue("judge", "en", "", (), {"no_order": True})
    assert _judge(Call(no_order), {wrong.pk})[0] == "wrong"
