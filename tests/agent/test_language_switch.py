"""A caller who asks for another language mid-order: the rule-based agent says so in it and asks
the question the call is at again, in it, keeping every slot; what else they said is taken."""

import uuid
from decimal import Decimal

import pytest

from calls.agent.base import CallContext
from calls.agent.messages import say
from calls.agent.rules import RuleBasedAgent
from calls.prompts import LANGUAGE_SWITCHED, prompt
from catalog.models import Season
from tests.factories import make_brand, make_tire

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_winter_tire():
    michelin = make_brand(name="Michelin", aliases="Мішлен, Мишлен")
    return make_tire(brand=michelin, model="X-Ice North 4", price=Decimal("4200"),
                     stock_quantity=8, season=Season.WINTER, sku="MIC-XIN4-16")  # fmt: skip


def _at_quantity(agent: RuleBasedAgent) -> CallContext:
    context = CallContext(uuid.uuid4(), "uk")
    agent.turn(context, "мені потрібні зимові шини двісті п'ять п'ятдесят п'ять шістнадцять")
    reply = agent.turn(context, "так беру")
    assert reply.text.endswith(say("ask_quantity", "uk")), reply.text
    return context


def test_asked_for_russian_the_bot_says_so_and_asks_its_question_again_in_russian(
    one_winter_tire,
):
    agent = RuleBasedAgent()
    context = _at_quantity(agent)
    context.language = "ru"  # what the conversation does on the request
    reply = agent.switched(context, "можна російською?")
    assert reply.text == f"{prompt(LANGUAGE_SWITCHED, 'ru')} {say('ask_quantity', 'ru')}"
    assert context.state["choice"]["sku"] == "MIC-XIN4-16"  # nothing was forgotten
    # The order goes on in Russian.
    assert agent.turn(context, "четыре штуки").text == say("ask_name", "ru")


def test_asking_twice_is_no_unanswered_question(one_winter_tire):
    agent = RuleBasedAgent()
    context = _at_quantity(agent)
    for language, request in [("ru", "можна російською?"), ("uk", "можно по-украински?")] * 2:
        context.language = language
        reply = agent.switched(context, request)
        assert reply.text.endswith(say("ask_quantity", language)), reply.text


def test_what_else_the_caller_said_with_the_request_is_taken(one_winter_tire):
    agent = RuleBasedAgent()
    context = _at_quantity(agent)
    context.language = "ru"
    reply = agent.switched(context, "говорите по-русски, мне четыре штуки")
    assert context.state["quantity"] == 4
    assert reply.text == f"{prompt(LANGUAGE_SWITCHED, 'ru')} {say('ask_name', 'ru')}"
