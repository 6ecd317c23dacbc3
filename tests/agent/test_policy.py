"""The dialogue policy, through whole calls: any fact at any step, only what is missing asked,
questions answered, corrections of exactly the field named, the read-back of every stored value,
no loops, and what the agent tells speech recognition to expect."""

import pytest

from calls.agent.base import Action
from orders.models import Order
from tests.agent.test_rules_dialogues import Caller, shop  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shop")]


def _to_read_back(caller: Caller) -> str:
    caller.says("Nokian winter 205/55 R16, four of them")
    caller.says("Yes")  # the only Nokian offered
    caller.says("My name is Ivan Franko")
    caller.says("067 123 45 67")
    return caller.says("I'll pick them up").text


def test_the_read_back_says_every_value_and_only_a_yes_places_the_order():
    caller = Caller("en")
    read_back = _to_read_back(caller)
    for value in ("Winter tires", "Nokian Hakkapeliitta R5, 205/55 R16", "quantity 4", "15600",
                  "Ivan Franko", "0 6 7, 1 2 3, 4 5, 6 7", "Pickup"):  # fmt: skip
        assert value in read_back
    assert caller.context.expect == "confirm" and not Order.objects.exists()
    caller.says("Yes, place it")
    assert Order.objects.get().items.get().quantity == 4


def test_a_correction_changes_exactly_the_field_named():
    caller = Caller("en")
    _to_read_back(caller)
    again = caller.says("not four, two").text
    assert "quantity 2" in again and "7800" in again and "Ivan Franko" in again
    assert "What phone number" in caller.says("the phone is wrong").text  # asked, not guessed
    assert "0 5 0, 1 1 1, 2 2, 3 3" in caller.says("050 111 22 33").text
    caller.says("yes")
    order = Order.objects.get()
    assert order.customer_phone == "+380501112233" and order.items.get().quantity == 2


@pytest.mark.parametrize(
    ("language", "cancel"),
    [("en", "I changed my mind, cancel it"), ("uk", "я передумав"), ("ru", "отмените")],
)
def test_cancelling_at_the_read_back_places_nothing(language, cancel):
    caller = Caller(language)
    caller.says("205/55 R16 winter Nokian, 4")
    caller.says("1")
    caller.says("Petro")
    caller.says("0671234567")
    caller.says("pickup" if language == "en" else "самовивіз")
    reply = caller.says(cancel)
    assert reply.action == Action.CONTINUE and not Order.objects.exists()


def test_a_question_at_the_offers_is_answered_and_not_taken_as_a_choice():
    caller = Caller("en")
    caller.says("winter 205/55 R16")
    answer = caller.says("are Michelin any good?")
    assert "Michelin" in answer.text and caller.context.state.get("choice") is None
    assert caller.context.expect == "choice"
    cheapest = caller.says("which is cheapest?")
    assert "Nokian" in cheapest.text and caller.context.state.get("choice") is None


def test_one_offer_is_never_first_second_or_third():
    caller = Caller("en")
    offer = caller.says("Continental winter 205/55 R16").text
    assert "first" not in offer and "Shall I" in offer
    again = caller.says("hmm").text
    assert "first" not in again and "second" not in again


def test_the_same_question_unanswered_twice_goes_to_an_operator():
    caller = Caller("en")
    caller.says("winter 205/55 R16")
    caller.says("the first one")
    assert caller.context.expect == "quantity"
    assert caller.says("blue bananas").action == Action.CONTINUE
    reply = caller.says("purple bananas")
    assert reply.action == Action.TRANSFER


@pytest.mark.parametrize(
    ("language", "facts"),
    [
        ("en", ["yes, I'll take them, four", "it's Anna", "my number is 050 123 45 67", "pickup"]),
        ("uk", ["так, беру, чотири", "мене звати Анна", "050 123 45 67", "самовивіз"]),
    ],
)
def test_facts_given_instead_of_the_answer_dont_reset_the_count(language, facts):
    """Name, phone and pickup given, but never which tire: "which one?" is not asked for ever
    (each fact learnt used to reset the count)."""
    caller = Caller(language)
    caller.says("winter 205/55 R16" if language == "en" else "зимові 205/55 R16")
    replies = [caller.says(fact) for fact in facts]
    assert replies[-1].action == Action.TRANSFER or replies[-2].action == Action.TRANSFER
    assert not Order.objects.exists()


def test_questions_asked_instead_of_the_answer_are_answered_without_an_operator():
    caller = Caller("en")
    caller.says("winter 205/55 R16")
    for question in ("are Michelin any good?", "which is cheapest?", "how much is delivery?"):
        assert caller.says(question).action == Action.CONTINUE
    caller.says("the Nokian, four")
    assert caller.context.state["choice"]["brand"] == "Nokian"


def test_after_a_phone_that_is_not_whole_the_keypad_is_offered():
    caller = Caller("en")
    caller.says("four winter tires 205/55 R16")
    caller.says("the first one")
    caller.says("Olga")
    offer = caller.says("067 12").text
    assert "key" in offer and offer.count("Sorry") == 1
    caller.keys("0671234567")
    assert caller.context.state["phone"] == "+380671234567"
    assert caller.context.expect == "fulfilment"


def test_the_caller_number_is_offered_and_another_number_taken():
    caller = Caller("ru", caller_number="+380671112233")
    caller.says("зимние 205/55 R16, четыре")
    caller.says("вторые")
    assert "3 3" in caller.says("Ирина").text
    assert caller.says("запишите другой номер").text.startswith("По какому номеру")
    caller.says("050 765 43 21")
    assert caller.context.state["phone"] == "+380507654321"
    assert caller.context.state["choice"]["brand"] == "Michelin"  # "другой" chose nothing


def test_what_the_agent_expects_next_is_told_to_recognition():
    caller = Caller("en")
    for said, expect in [
        ("I need tires", "size"), ("205/55 R16", "season"), ("winter", "choice"),
        ("the first", "quantity"), ("four", "name"), ("Olga", "phone"),
        ("0671234567", "fulfilment"), ("delivery", "address"), ("Lviv, Shevchenka 5", "confirm"),
    ]:  # fmt: skip
        caller.says(said)
        assert caller.context.expect == expect, said


def test_yes_and_goodbye_to_the_read_back_places_the_order_then_hangs_up():
    caller = Caller("uk")
    caller.says("зимові 205/55 R16 Nokian, чотири")
    caller.says("так")
    caller.says("Мене звати Іван")
    caller.says("067 123 45 67")
    caller.says("самовивіз")
    reply = caller.says("так, все вірно, дякую, до побачення")
    assert reply.action == Action.HANG_UP and Order.objects.get().number in reply.text.replace(
        " ", ""
    )


def test_unknown_order_numbers_are_asked_for_twice_then_an_operator():
    caller = Caller("en")
    caller.says("What is the status of my order?")  # the order number asked once
    assert caller.says("111111").action == Action.CONTINUE  # and again
    assert caller.says("222222").action == Action.TRANSFER
