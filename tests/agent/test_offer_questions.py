"""Questions a caller asks about the tires offered, with the rule-based agent: "are the second
ones good?" is answered with what the bot knows of them (the pick stays the caller's), and
"а липучка є?" at studded offers is answered from the catalog: the non-studded ones, or none."""

import uuid
from decimal import Decimal

import pytest

from calls.agent.base import CallContext
from calls.agent.messages import say
from calls.agent.rules import RuleBasedAgent
from catalog.models import Season
from tests.factories import make_brand, make_tire

pytestmark = pytest.mark.django_db
WINTER = {"season": Season.WINTER}


@pytest.fixture
def studded_shop():
    """Studded winter tires in 205/55 R16, and one without studs."""
    nokian = make_brand(name="Nokian Tyres", aliases="Нокіан, Нокиан, Nokian")
    continental = make_brand(name="Continental", aliases="Континенталь, Конті, Конти")
    dunlop = make_brand(name="Dunlop", aliases="Данлоп")
    make_tire(brand=nokian, model="Hakkapeliitta 10", price=Decimal("5870"), stock_quantity=10,
              studded=True, sku="NOK-H10-16", **WINTER)  # fmt: skip
    make_tire(brand=continental, model="IceContact 3", price=Decimal("6200"), stock_quantity=8,
              studded=True, sku="CON-IC3-16", **WINTER)  # fmt: skip
    return make_tire(brand=dunlop, model="Winter Sport 5", price=Decimal("4230"),
                     stock_quantity=4, sku="DUN-WS5-16", **WINTER)  # fmt: skip


STUDDED = {
    "uk": "зимові шиповані двісті п'ять п'ятдесят п'ять шістнадцять",
    "ru": "зимние шипованные 205 55 16",
    "en": "studded winter tires 205 55 16",
}


def _at_studded_offers(language: str) -> tuple[RuleBasedAgent, CallContext]:
    agent, context = RuleBasedAgent(), CallContext(uuid.uuid4(), language)
    agent.turn(context, STUDDED[language])
    assert [offer["sku"] for offer in context.state["offers"]] == ["NOK-H10-16", "CON-IC3-16"]
    return agent, context


@pytest.mark.parametrize(
    ("language", "asked", "kind"),
    [("uk", "а липучка є?", "шини без шипів"), ("uk", "а на липучці є", "шини без шипів"),
     ("uk", "а без шипів є?", "шини без шипів"), ("ru", "А на липучке есть?", "шины без шипов"),
     ("ru", "а фрикционка есть?", "шины без шипов"),
     ("en", "any non-studded ones?", "non-studded tires")],
)  # fmt: skip
def test_asked_for_non_studded_at_studded_offers_the_bot_offers_them(
    studded_shop, language, asked, kind
):
    agent, context = _at_studded_offers(language)
    reply = agent.turn(context, asked)
    assert kind in reply.text and "Dunlop Winter Sport 5" in reply.text, reply.text
    assert [offer["sku"] for offer in context.state["offers"]] == ["DUN-WS5-16"]
    assert reply.text.endswith(say("offer_one_again", language)) or "?" in reply.text[-60:]
    assert "choice" not in context.state  # offered, not chosen
    yes = {"uk": "так", "ru": "да", "en": "yes"}[language]
    assert agent.turn(context, yes).text == say("ask_quantity", language)
    assert context.state["choice"]["sku"] == "DUN-WS5-16"


@pytest.mark.parametrize(
    ("language", "asked", "none"),
    [("uk", "а липучка є?", "На жаль, шин без шипів у розмірі 205/55 R16 немає."),
     ("ru", "А на липучке есть?", "К сожалению, шин без шипов в размере 205/55 R16 нет.")],
)  # fmt: skip
def test_without_non_studded_tires_the_bot_says_so_and_keeps_its_offers(
    studded_shop, language, asked, none
):
    studded_shop.delete()
    agent, context = _at_studded_offers(language)
    reply = agent.turn(context, asked)
    assert reply.text.startswith(none), reply.text
    assert [offer["sku"] for offer in context.state["offers"]] == ["NOK-H10-16", "CON-IC3-16"]
    first = {"uk": "перші", "ru": "первые"}[language]
    assert agent.turn(context, first).text == say("ask_quantity", language)


def test_non_studded_asked_at_summer_offers_are_winter_tires(studded_shop):
    """Summer tires have no studs, but a caller who asks for липучка wants winter ones."""
    make_tire(brand=studded_shop.brand, model="SP Sport Maxx", price=Decimal("3100"),
              stock_quantity=8, sku="DUN-SPM-16")  # fmt: skip
    agent, context = RuleBasedAgent(), CallContext(uuid.uuid4(), "uk")
    agent.turn(context, "літні 205 55 16")
    reply = agent.turn(context, "а липучка є?")
    assert "шини без шипів" in reply.text and "Winter Sport 5" in reply.text, reply.text
    assert "SP Sport Maxx" not in reply.text


def test_are_they_studded_still_asks_about_the_offer(studded_shop):
    agent, context = _at_studded_offers("uk")
    reply = agent.turn(context, "а другі вони шиповані?")
    assert reply.text.startswith("Continental IceContact 3 — шиповані.")


@pytest.mark.parametrize(
    ("language", "asked", "yes"),
    [("uk", "а другі хороші?", "так"), ("uk", "а другі нормальні?", "так, беру"),
     ("ru", "а вторые нормальные?", "да"), ("ru", "вторые хорошие?", "давайте"),
     ("en", "are the second ones good?", "yes"), ("en", "is the second one any good?", "yes"),
     ("uk", "розкажіть про другі", "так"), ("ru", "расскажите про вторые", "да"),
     ("en", "tell me about the second ones", "yes"), ("ru", "а вторые как?", "да"),
     ("uk", "а другі як?", "так"), ("en", "how are the second ones?", "yes")],
)  # fmt: skip
def test_a_question_about_an_offer_is_answered_and_is_no_pick(studded_shop, language, asked, yes):
    agent, context = _at_studded_offers(language)
    reply = agent.turn(context, asked)
    # What the bot knows of it: brand, tread line, season and studs, price, stock.
    assert "Continental IceContact 3" in reply.text and "6200" in reply.text, reply.text
    assert {"uk": "зимові шиповані", "ru": "зимние шипованные", "en": "winter studded"}[
        language
    ] in reply.text
    assert "8" in reply.text.split("6200", 1)[1]
    assert reply.text.endswith(say("offer_one_again", language))
    assert "choice" not in context.state  # the pick is still the caller's
    assert agent.turn(context, yes).text == say("ask_quantity", language)
    assert context.state["choice"]["sku"] == "CON-IC3-16"


def test_a_quantity_to_shall_i_book_these_takes_the_offer_spoken_of(studded_shop):
    agent, context = _at_studded_offers("ru")
    agent.turn(context, "а вторые нормальные?")
    assert agent.turn(context, "четыре").text == say("ask_name", "ru")
    assert context.state["choice"]["sku"] == "CON-IC3-16" and context.state["quantity"] == 4


def test_asked_about_another_offer_after_a_pick_the_bot_describes_that_one(studded_shop):
    agent, context = _at_studded_offers("ru")
    agent.turn(context, "первые")
    reply = agent.turn(context, "а вторые хорошие?")
    assert reply.text.startswith("Continental IceContact 3:"), reply.text
