"""Whole dialogues with the rule-based agent, on text, in each language the bot speaks: what a
caller says turn by turn, what the bot answers, and the order or status that comes of it."""

import uuid
from decimal import Decimal

import pytest

from calls.agent.base import Action, CallContext
from calls.agent.rules import RuleBasedAgent
from calls.models import Call, CallOutcome
from catalog.models import Season
from orders.models import Fulfilment, Order, OrderStatus
from orders.services import change_status
from tests.factories import make_brand, make_order, make_tire

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    michelin = make_brand(name="Michelin", aliases="Мішлен, Мишлен")
    nokian = make_brand(name="Nokian", aliases="Нокіан, Нокиан")
    continental = make_brand(name="Continental", aliases="Континенталь")
    winter = {"season": Season.WINTER}
    return {
        "nokian16": make_tire(brand=nokian, model="Hakkapeliitta R5", price=Decimal("3900"),
                              stock_quantity=12, sku="NOK-R5-16", **winter),
        "michelin16": make_tire(brand=michelin, model="X-Ice North 4", price=Decimal("4200"),
                                stock_quantity=8, studded=True, sku="MIC-XIN4-16", **winter),
        "conti16": make_tire(brand=continental, model="WinterContact TS 870",
                             price=Decimal("4100"), stock_quantity=2, sku="CON-TS870-16",
                             **winter),
        "michelin16s": make_tire(brand=michelin, model="Primacy 4", price=Decimal("3600"),
                                 stock_quantity=10, sku="MIC-P4-16"),
        "nokian17": make_tire(brand=nokian, model="Hakkapeliitta R5", price=Decimal("4600"),
                              stock_quantity=6, rim_diameter=17, sku="NOK-R5-17", **winter),
    }  # fmt: skip


class Caller:
    """One call's side of a dialogue: says something, gets the bot's reply."""

    def __init__(self, language: str, caller_number: str = "") -> None:
        self.context = CallContext(uuid.uuid4(), language, caller_number=caller_number)
        self.agent = RuleBasedAgent()
        self.replies = []

    def says(self, text: str):
        reply = self.agent.turn(self.context, text)
        self.replies.append(reply)
        return reply

    def keys(self, digits: str):
        reply = self.agent.turn(self.context, digits, keyed=True)
        self.replies.append(reply)
        return reply


# What a caller says at each step of an order, in each language.
ORDER_PHRASES = {
    "en": {
        "want": "I need winter tires, two hundred five, fifty five, R sixteen",
        "first": "The first one",
        "four": "Four",
        "name": "My name is Taras Shevchenko",
        "phone": "zero six seven, one two three, four five, six seven",
        "pickup": "I'll pick them up",
        "yes": "Yes, that's right",
        "correction": "No, I meant R seventeen",
        "delivery": "Delivery, please",
        "address": "Kyiv, Khreshchatyk street 22",
        "status": "What is the status of my order?",
        "operator": "Can I talk to an operator?",
        "nonsense": "Blue bananas are flying",
        "bye": "No, thank you, goodbye",
        "confirmed_word": "confirmed",
    },
    "uk": {
        "want": "Мені потрібні зимові шини, двісті п'ять, п'ятдесят п'ять, R шістнадцять",
        "first": "Перші",
        "four": "Чотири",
        "name": "Мене звати Тарас Шевченко",
        "phone": "нуль шість сім, один два три, чотири п'ять, шість сім",
        "pickup": "Самовивіз",
        "yes": "Так, правильно",
        "correction": "Ні, я мав на увазі R сімнадцять",
        "delivery": "Потрібна доставка",
        "address": "Київ, вулиця Хрещатик 22",
        "status": "Який статус мого замовлення?",
        "operator": "З'єднайте з оператором",
        "nonsense": "Сині банани летять",
        "bye": "Ні, дякую, до побачення",
        "confirmed_word": "підтверджене",
    },
    "ru": {
        "want": "Мне нужны зимние шины, двести пять, пятьдесят пять, R шестнадцать",
        "first": "Первые",
        "four": "Четыре",
        "name": "Меня зовут Тарас Шевченко",
        "phone": "ноль шесть семь, один два три, четыре пять, шесть семь",
        "pickup": "Самовывоз",
        "yes": "Да, верно",
        "correction": "Нет, я имел в виду R семнадцать",
        "delivery": "Нужна доставка",
        "address": "Киев, улица Крещатик 22",
        "status": "Какой статус моего заказа?",
        "operator": "Соедините с оператором",
        "nonsense": "Синие бананы летят",
        "bye": "Нет, спасибо, до свидания",
        "confirmed_word": "подтвержден",
    },
}
LANGUAGES = list(ORDER_PHRASES)


def _order_of(caller: Caller) -> Order:
    return Order.objects.get(source_call__uuid=caller.context.call_uuid)


@pytest.mark.parametrize("language", LANGUAGES)
def test_search_then_order_is_placed_as_said(shop, language):
    said = ORDER_PHRASES[language]
    caller = Caller(language)
    offers = caller.says(said["want"])
    # Ranked: a full set in stock first, cheapest first; two left of Continental comes last.
    assert (
        offers.text.index("Nokian")
        < offers.text.index("Michelin")
        < offers.text.index("Continental")
    )
    assert "205/55 R16" in offers.text
    caller.says(said["first"])
    caller.says(said["four"])
    caller.says(said["name"])
    caller.says(said["phone"])
    read_back = caller.says(said["pickup"])
    assert "Nokian Hakkapeliitta R5" in read_back.text and "15600" in read_back.text
    assert "0 6 7, 1 2 3, 4 5, 6 7" in read_back.text
    assert not Order.objects.exists()  # nothing before the caller confirms
    placed = caller.says(said["yes"])

    order = _order_of(caller)
    assert placed.outcome == CallOutcome.ORDER_PLACED and placed.action == Action.CONTINUE
    assert " ".join(order.number) in placed.text
    item = order.items.get()
    assert (item.tire.sku, item.quantity) == ("NOK-R5-16", 4)
    assert order.customer_name == ("Taras Shevchenko" if language == "en" else "Тарас Шевченко")
    assert order.customer_phone == "+380671234567"
    assert order.fulfilment == Fulfilment.PICKUP and order.total == Decimal("15600")
    shop["nokian16"].refresh_from_db()
    assert shop["nokian16"].stock_quantity == 8

    goodbye = caller.says(said["bye"])
    assert goodbye.action == Action.HANG_UP and goodbye.outcome == CallOutcome.ORDER_PLACED


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_correction_at_the_read_back_searches_again_and_keeps_the_rest(shop, language):
    said = ORDER_PHRASES[language]
    caller = Caller(language)
    for step in ("want", "first", "four", "name", "phone", "pickup"):
        caller.says(said[step])
    offer = caller.says(said["correction"])
    assert "205/55 R17" in offer.text and "Nokian" in offer.text
    read_back = caller.says(said["yes"])  # the only R17 offer: yes takes it
    assert "205/55 R17" in read_back.text and "18400" in read_back.text
    caller.says(said["yes"])
    item = _order_of(caller).items.get()
    assert (item.tire.sku, item.quantity) == ("NOK-R5-17", 4)


@pytest.mark.parametrize("language", LANGUAGES)
def test_delivery_asks_for_the_address(shop, language):
    said = ORDER_PHRASES[language]
    caller = Caller(language)
    for step in ("want", "first", "four", "name", "phone"):
        caller.says(said[step])
    assert caller.context.state["stage"] == "fulfilment"
    caller.says(said["delivery"])
    assert caller.context.state["stage"] == "address"
    read_back = caller.says(said["address"])
    assert "22" in read_back.text
    caller.says(said["yes"])
    order = _order_of(caller)
    assert order.fulfilment == Fulfilment.DELIVERY and "22" in order.delivery_address


def test_a_caller_who_says_it_all_at_once_is_asked_only_what_is_missing(shop):
    caller = Caller("en", caller_number="+380671234567")
    offer = caller.says("Four Michelin winter tires, 205/55 R16, with studs, delivery please")
    assert "X-Ice North 4" in offer.text and "Nokian" not in offer.text
    # Quantity, season, brand and delivery were said: the next question is the name.
    assert caller.says("Yes").text == "What name should I put the order under?"
    assert "ending in 6 7" in caller.says("Olena").text
    assert "address" in caller.says("Yes").text
    read_back = caller.says("Lviv, Shevchenka 5")
    assert "Michelin X-Ice North 4, 205/55 R16, quantity 4" in read_back.text
    caller.says("Yes")
    order = _order_of(caller)
    assert order.customer_phone == "+380671234567" and order.items.get().quantity == 4


def test_more_than_in_stock_is_refused_before_the_read_back(shop):
    caller = Caller("en")
    caller.says("Continental winter tires 205/55 R16")
    assert "How many" in caller.says("Yes").text
    assert "only 2" in caller.says("Four").text
    assert "name" in caller.says("Two").text


@pytest.mark.parametrize("language", LANGUAGES)
def test_order_status_by_number(shop, language):
    said = ORDER_PHRASES[language]
    order = make_order(tire=shop["nokian16"])
    change_status(order.pk, OrderStatus.CONFIRMED)
    caller = Caller(language)
    assert "?" in caller.says(said["status"]).text  # it asks for the number
    reply = caller.says(" ".join(order.number))
    assert said["confirmed_word"] in reply.text
    assert "Nokian Hakkapeliitta R5" in reply.text


def test_order_status_by_the_callers_phone_and_by_keypad(shop):
    order = make_order(tire=shop["michelin16"], customer_phone="+380931112233")
    caller = Caller("en", caller_number="+380931112233")
    reply = caller.says("Where is my order?")
    assert " ".join(order.number) in reply.text and "waiting for confirmation" in reply.text

    keyed = Caller("en")
    keyed.says("I'd like to check my order")
    assert " ".join(order.number) in keyed.keys(order.number + "#").text


@pytest.mark.parametrize("language", LANGUAGES)
def test_operator_by_voice_and_by_keypad(shop, language):
    reply = Caller(language).says(ORDER_PHRASES[language]["operator"])
    assert reply.action == Action.TRANSFER and reply.outcome == CallOutcome.TRANSFERRED
    keyed = Caller(language)
    keyed.says(ORDER_PHRASES[language]["want"])
    assert keyed.keys("0").action == Action.TRANSFER


@pytest.mark.parametrize("language", LANGUAGES)
def test_repeated_misunderstanding_hands_over_to_an_operator(shop, language):
    caller = Caller(language)
    nonsense = ORDER_PHRASES[language]["nonsense"]
    first, second = caller.says(nonsense), caller.says(nonsense)
    assert first.action == second.action == Action.CONTINUE
    third = caller.says(nonsense)
    assert third.action == Action.TRANSFER and third.outcome == CallOutcome.TRANSFERRED


def test_an_unknown_order_number_is_asked_again(shop):
    caller = Caller("en")
    caller.says("What is the status of my order?")
    reply = caller.says("nine nine nine nine nine nine")
    assert "can't find an order with the number 9 9 9 9 9 9" in reply.text
    assert reply.action == Action.CONTINUE


def test_the_order_is_linked_to_its_call(shop):
    caller = Caller("en")
    for text in ("205/55 R16 winter", "the second", "4", "Ivan", "0671234567", "pickup", "yes"):
        caller.says(text)
    order = _order_of(caller)
    assert Call.objects.get(uuid=caller.context.call_uuid).orders.get() == order


@pytest.mark.parametrize(
    "said", ["I need 4-winter tires", "I need for winter tires", "four tires, 205/55 R16"]
)
def test_a_quantity_said_with_the_tires_is_kept_as_speech_to_text_writes_it(shop, said):
    caller = Caller("en")
    caller.says(said)
    assert caller.context.state["quantity"] == 4


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_caller_who_says_goodbye_is_answered_and_the_bot_hangs_up(shop, language):
    caller = Caller(language)
    caller.says(ORDER_PHRASES[language]["want"])  # the bot offers tires
    reply = caller.says(ORDER_PHRASES[language]["bye"])
    assert reply.action == Action.HANG_UP and reply.outcome == CallOutcome.INFO_GIVEN
    farewell = Caller(language)
    assert farewell.says(
        {"en": "Goodbye", "uk": "До побачення", "ru": "Пока"}[language]
    ).action == (Action.HANG_UP)


@pytest.mark.parametrize(
    ("language", "request_", "yes", "sorry"),
    [
        ("en", "four winter tires 205/55 R16, the cheapest", "yes", "Sorry"),
        ("uk", "чотири зимові шини 205/55 R16, найдешевші", "так", "Вибачте"),
        ("ru", "четыре зимние шины 205/55 R16, самые дешёвые", "да", "Извините"),
    ],
)
def test_a_yes_to_the_offer_named_with_the_next_question_is_agreement_not_a_miss(
    shop, language, request_, yes, sorry
):
    """A caller answers "The cheapest is X ... What name?" with "yes": they agree with the offer
    (found with the admin's Test call page); the name is asked again without an apology, and
    repeating only "yes" still ends with an operator, never a loop."""
    caller = Caller(language)
    caller.says(request_)
    asked = caller.context.expect
    reply = caller.says(yes)
    assert not reply.text.startswith(sorry), reply.text
    assert caller.context.expect == asked == "name"
    for _ in range(3):
        reply = caller.says(yes)
    assert reply.action == Action.TRANSFER, reply.text


@pytest.mark.parametrize(
    ("language", "request_", "question", "only"),
    [
        ("en", "summer tires 205/55 R16", "what else do you have?", "the only one"),
        ("uk", "літні шини 205/55 R16", "а що у вас є?", "лише ця модель"),
        ("ru", "летние шины 205/55 R16", "а что еще есть?", "только эта модель"),
    ],
)
def test_what_else_do_you_have_at_the_only_offer_is_answered(
    shop, language, request_, question, only
):
    """A caller offered one tire asks what else there is: told it is the only one in the
    size, with its price, and asked again whether to book it (no apology, no miss)."""
    caller = Caller(language)
    caller.says(request_)
    assert caller.context.expect == "choice"
    reply = caller.says(question)
    assert only in reply.text and "Michelin Primacy 4" in reply.text, reply.text
    assert caller.context.expect == "choice"


def test_what_do_you_have_at_several_offers_lists_them_with_prices(shop):
    caller = Caller("en")
    caller.says("winter tires 205/55 R16")
    reply = caller.says("what are the options?")
    for model in ("Hakkapeliitta R5", "X-Ice North 4", "WinterContact TS 870"):
        assert model in reply.text, reply.text
    assert "3900" in reply.text and not reply.text.startswith("Sorry"), reply.text


@pytest.mark.parametrize(
    ("language", "question", "terms"),
    [
        ("en", "how much is delivery?", "Delivery in Kyiv is 200 hryvnias, free from four tires"),
        ("uk", "а скільки коштує доставка?", "Доставка по Києву 200 гривень"),
        ("ru", "сколько стоит доставка?", "Доставка по Киеву 200 гривен."),
    ],
)
def test_the_delivery_price_is_the_shops_own_terms(shop, settings, language, question, terms):
    settings.SHOP_DELIVERY = {language: terms}
    caller = Caller(language)
    caller.says("winter tires 205/55 R16" if language == "en" else "зимові шини 205/55 R16")
    reply = caller.says(question)
    assert reply.text.startswith(terms.rstrip(".") + ". "), reply.text
    assert caller.context.expect == "choice", "the order goes on after the answer"


def test_without_delivery_terms_the_bot_never_names_a_price(shop, settings):
    settings.SHOP_DELIVERY = {}
    caller = Caller("en")
    caller.says("winter tires 205/55 R16")
    reply = caller.says("how much is delivery?")
    assert "manager will tell you the cost" in reply.text, reply.text


def test_a_place_beyond_the_offers_hears_the_offers_again(shop):
    """A caller says "the second one" when one tire was offered: they misheard; told it is
    the only one, not "sorry, I didn't get that" (which counts towards an operator)."""
    caller = Caller("en")
    caller.says("summer tires 205/55 R16")
    reply = caller.says("the second one")
    assert "the only one" in reply.text and "Michelin Primacy 4" in reply.text, reply.text
    assert caller.context.expect == "choice"


@pytest.mark.parametrize(
    ("language", "size", "no", "none"),
    [
        ("ru", "зимние двести пять шестьдесят пять шестнадцать", "нет, шестьдесят пять", "нет в"),
        ("uk", "зимові двісті п'ять шістдесят п'ять шістнадцять", "ні, шістдесят п'ять", "немає"),
        ("en", "winter two oh five sixty five sixteen", "no, sixty five", "in stock"),
    ],
)
def test_no_to_a_near_size_keeps_the_size_the_caller_said(shop, language, size, no, none):
    """205/65 R16 is not in stock and 205/55 R16 is: the bot asks "did you mean 205/55?"; a
    caller who says no meant what they said, and hears that it is not in stock, instead of
    being asked for the size from the start."""
    caller = Caller(language)
    caller.says(size)
    assert caller.context.state.get("size_pending") == "205/55 R16"
    reply = caller.says(no)
    assert "205/65 R16" in reply.text and none in reply.text, reply.text
    assert not caller.context.state.get("offers")
