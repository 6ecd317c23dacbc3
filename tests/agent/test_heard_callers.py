"""What callers say that the bot once misread, heard as they mean it, in uk, ru and en: a bare
name while the tires are being chosen, hesitations in an address, "open" that asks nothing,
questions about price and stock before the tires are found."""

import uuid
from decimal import Decimal

import pytest

from calls.agent.base import CallContext
from calls.agent.heard_names import address_in
from calls.agent.rules import RuleBasedAgent
from calls.agent.understanding import understand
from catalog.models import Season
from tests.factories import make_brand, make_tire

BRANDS = [("Matador", []), ("Dunlop", ["Данлоп"]), ("Nokian Tyres", ["Нокіан", "Нокиан"])]
OFFERS = [
    {"sku": "M", "brand": "Matador", "model": "MP 93 Nordicca", "price": "3080.00"},
    {"sku": "D", "brand": "Dunlop", "model": "Winter Sport 5", "price": "4230.00"},
    {"sku": "N", "brand": "Nokian Tyres", "model": "Hakkapeliitta 10", "price": "5870.00"},
]


def heard(text: str, language: str, asking: str, offers=OFFERS):
    return understand(text, language, asking, BRANDS, offers)


@pytest.mark.parametrize(
    ("text", "language", "asking", "name", "choice", "quantity"),
    [
        ("Сергей Петрович", "ru", "choice", "Сергей Петрович", None, None),
        ("первые, Сергей Петрович", "ru", "choice", "Сергей Петрович", 1, None),
        ("давайте перші, чотири штуки, Олена Коваль", "uk", "choice", "Олена Коваль", 1, 4),
        ("the first one, four, John Smith", "en", "choice", "John Smith", 1, 4),
        ("чотири, Олена Коваль", "uk", "quantity", "Олена Коваль", None, 4),
        ("four, John Smith", "en", "quantity", "John Smith", None, 4),
        ("Добрый день, Сергей Петрович", "ru", "name", "Сергей Петрович", None, None),
        ("так, Олена Коваль", "uk", "name", "Олена Коваль", None, None),
        ("yes, John Smith", "en", "name", "John Smith", None, None),
    ],
)
def test_a_bare_name_is_the_name(text, language, asking, name, choice, quantity):
    said = heard(text, language, asking, OFFERS if asking != "name" else ())
    assert (said.name, said.choice, said.quantity) == (name, choice, quantity)


@pytest.mark.parametrize(
    ("text", "language", "choice"),
    [
        ("Вінтер Спорт", "uk", 2),  # Winter Sport said in Cyrillic picks it, it names nobody
        ("Матадор Нордика", "ru", 1),
        ("Нокіан Хакапеліта", "uk", 3),
        ("Dunlop Please", "en", 2),
        ("Winter Sport", "en", 2),
    ],
)
def test_a_tire_said_with_capitals_is_no_name(text, language, choice):
    said = heard(text, language, "choice")
    assert (said.name, said.choice) == (None, choice)


def test_a_lower_case_pair_of_words_at_the_offers_is_no_name():
    assert heard("олена коваль", "uk", "choice").name is None


@pytest.mark.parametrize(
    ("said", "address"),
    [
        ("ну, давайте на Соборну 5, ну, в Ірпені", "Соборну 5, в Ірпені"),
        ("ну давайте Киев, э, Крещатик 22", "Киев, Крещатик 22"),
        ("um, let's say 5 Baker street, uh, Kyiv", "5 Baker street, Kyiv"),
        ("ем, ну, Харків, Сумська 10, ну", "Харків, Сумська 10"),
        ("Київ, вулиця Ентузіастів 5е", "Київ, вулиця Ентузіастів 5е"),
        ("м. Київ, Малиновського 5", "м. Київ, Малиновського 5"),
    ],
)
def test_an_address_keeps_no_hesitations(said, address):
    assert address_in(said) == address


def test_delivery_and_an_address_with_fillers_in_one_breath():
    said = heard("доставка, ну, давайте на Соборну 5, ну, в Ірпені", "uk", "fulfilment", ())
    assert (said.fulfilment, said.address) == ("delivery", "Соборну 5, в Ірпені")


@pytest.mark.parametrize(
    ("text", "language", "question"),
    [
        ("the address is Open street 5", "en", None),
        ("yes, Open street is right", "en", None),
        ("yes, it's in the open-air market on Openska street", "en", None),
        ("так, все відкрито і зрозуміло", "uk", None),
        ("адреса вулиця Відкрита 5", "uk", None),
        ("да, открыто всё, оформляйте", "ru", None),
        ("are you open on saturday?", "en", "hours"),
        ("what time do you close?", "en", "hours"),
        ("а ви відкриті в суботу?", "uk", "hours"),
        ("а вы открыты в субботу?", "ru", "hours"),
    ],
)
def test_open_asks_the_hours_only_in_a_question_about_them(text, language, question):
    assert heard(text, language, "confirm", ()).question == question


@pytest.mark.parametrize(
    ("text", "language", "question"),
    [
        ("а сколько штук у вас есть?", "ru", "stock"),
        ("а скільки штук у вас є?", "uk", "stock"),
        ("do you have them in stock?", "en", "stock"),
        ("а є в наявності?", "uk", "stock"),
        ("а що по ціні?", "uk", "price"),
        ("а по цене что?", "ru", "price"),
        ("how much are they?", "en", "price"),
        ("а які ще є?", "uk", "options"),
        ("а какие есть?", "ru", "options"),
    ],
)
def test_price_stock_and_options_questions(text, language, question):
    assert heard(text, language, "choice").question == question


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "size", "question", "later"),
    [
        ("uk", "зимові 215 55 16", "а що по ціні?", "Підкажу, щойно підберемо шини."),
        ("ru", "зимние 215 55 16", "а сколько штук у вас есть?", "Подскажу, как только"),
        ("en", "winter tires 215 55 16", "how much are they?", "I'll tell you as soon as"),
    ],
)
def test_a_question_at_did_you_mean_is_answered_later_and_the_size_asked_again(
    language, size, question, later
):
    make_tire(brand=make_brand(name="Matador"), model="MP 93 Nordicca", season=Season.WINTER,
              price=Decimal("3080"), stock_quantity=8, sku="MAT-16")  # fmt: skip
    context, agent = CallContext(uuid.uuid4(), language), RuleBasedAgent()
    asked = agent.turn(context, size).text
    assert "205/55 R16" in asked and context.state["stage"] == "size_confirm"
    reply = agent.turn(context, question).text
    assert reply.startswith(later) and reply.endswith(asked)
    assert context.state["stage"] == "size_confirm"
    offered = agent.turn(context, {"uk": "так", "ru": "да", "en": "yes"}[language]).text
    assert "Matador" in offered and context.state["stage"] == "choice"


@pytest.mark.parametrize(
    ("text", "language", "size", "quantity"),
    [
        ("нужны летние 195 65 15, ой, нет, 195 60 15, две штуки", "ru", "195/60 R15", 2),
        ("четыре штуки 195 65 15, вернее 195 60 15", "ru", "195/60 R15", 4),
        ("літні 205 55 16, вибачте, 215 60 16, чотири", "uk", "215/60 R16", 4),
        ("літні 205 55 16, ой ні, 205 60 16", "uk", "205/60 R16", None),
        ("summer 205 55 16, sorry, I mean 215 60 16", "en", "215/60 R16", None),
    ],
)
def test_a_size_taken_back_in_the_same_breath_is_the_one_after(text, language, size, quantity):
    said = heard(text, language, "size", ())
    assert (str(said.size), said.quantity) == (size, quantity)


@pytest.mark.parametrize(
    ("text", "language", "choice", "about", "question"),
    [
        ("ну, другі, а скільки їх є в наявності?", "uk", 2, None, "stock"),
        ("давайте первые. а сколько стоят?", "ru", 1, None, "price"),
        ("the second one, how much are they?", "en", 2, None, "price"),
        ("вторые, а они шипованные?", "ru", 2, None, "studs"),
        ("а другі шиповані?", "uk", None, 2, "studs"),
        ("а треті скільки коштують?", "uk", None, 3, "price"),
        ("are the second ones studded?", "en", None, 2, "studs"),
        ("вторые, а первые дешевле?", "ru", None, None, "cheapest"),
    ],
)
def test_a_pick_before_a_question_is_taken_a_place_in_it_is_asked_about(
    text, language, choice, about, question
):
    said = heard(text, language, "choice")
    assert (said.choice, said.about, said.question) == (choice, about, question)


@pytest.mark.parametrize(
    ("text", "language", "asking", "quantity"),
    [
        ("дві штуки, ой ні, чотири", "uk", "quantity", 4),
        ("две штуки, ой, нет, четыре", "ru", "quantity", 4),
        ("two tires, sorry, I mean four", "en", "quantity", 4),
        ("давайте перші, дві штуки, ой ні, чотири", "uk", "choice", 4),
        ("дві штуки, ні, 205 55 16", "uk", "quantity", 2),  # a size after it is no count
    ],
)
def test_a_count_taken_back_is_the_number_after(text, language, asking, quantity):
    assert heard(text, language, asking).quantity == quantity


def test_a_delivery_said_when_the_name_is_asked_names_no_town():
    said = heard("доставкою на нову пошту, Київ, відділення 25", "uk", "name", ())
    assert (said.name, said.fulfilment) == (None, "delivery")


@pytest.mark.parametrize(
    ("text", "asking", "quantity", "phone"),
    [
        ("чотирі", "quantity", 4, None),
        ("четирі штуки", "free", 4, None),
        ("нуль шісдесят сім, сто двацять три, сорок п'ять, шісдесят сім", "phone", None,
         "+380671234567"),
    ],
)  # fmt: skip
def test_surzhyk_numbers(text, asking, quantity, phone):
    said = heard(text, "uk", asking, ())
    assert (said.quantity, said.phone) == (quantity, phone)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("а чем первые от вторых отличаются?", "ru"),
        ("чим перші від других відрізняються?", "uk"),
        ("how do the first and second differ?", "en"),
    ],
)
def test_a_comparison_with_places_in_it_picks_none(text, language):
    said = heard(text, language, "choice")
    assert (said.question, said.choice) == ("compare", None)


@pytest.mark.parametrize(
    ("text", "language", "name"),
    [
        ("ой, подождите, на Светлану Петренко", "ru", "Светлану Петренко"),
        ("ой, вибачте, на Олену Коваль", "uk", "Олену Коваль"),
        ("sorry, I mean John Smith", "en", "John Smith"),
        ("ой, ні, доставка, Київ Центральна", "uk", None),  # an address, no name
    ],
)
def test_a_name_corrected_when_the_phone_is_asked(text, language, name):
    assert heard(text, language, "phone", ()).name == name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "turns", "address"),
    [
        ("uk", ["зимові 205 55 16 чотири штуки", "перші", "андрій", "067 123 45 67",
                "доставка в київ", "вулиця хрещатик 10"], "київ, вулиця хрещатик 10"),
        ("ru", ["зимние 205 55 16 четыре штуки", "первые", "анна", "095 111 22 33",
                "доставка в одессу", "дерибасовская 5"], "одессу, дерибасовская 5"),
        ("en", ["winter tires 205 55 16, four of them", "the first one", "my name is anna",
                "095 111 22 33", "delivery to lviv", "12 shevchenko avenue"],
         "lviv, 12 shevchenko avenue"),
        ("uk", ["зимові 205 55 16 чотири штуки", "перші", "андрій", "067 123 45 67",
                "доставка в київ", "ірпінь, соборна 5"], "ірпінь, соборна 5"),
    ],
)  # fmt: skip
def test_a_town_said_with_delivery_leads_the_street_said_later(language, turns, address):
    make_tire(brand=make_brand(name="Matador"), model="MP 93 Nordicca", season=Season.WINTER,
              price=Decimal("3080"), stock_quantity=8, sku="MAT-16")  # fmt: skip
    context, agent = CallContext(uuid.uuid4(), language), RuleBasedAgent()
    for said in turns:
        agent.turn(context, said)
    assert context.state["stage"] == "confirm"
    assert context.state["address"].lower() == address


@pytest.mark.django_db
def test_a_question_about_the_second_offer_is_answered_about_it_and_a_yes_takes_it():
    matador, dunlop = make_brand(name="Matador"), make_brand(name="Dunlop")
    make_tire(brand=matador, model="MP 93 Nordicca", season=Season.WINTER, price=Decimal("3080"),
              stock_quantity=8, sku="MAT-16")  # fmt: skip
    make_tire(brand=dunlop, model="Winter Sport 5", season=Season.WINTER, price=Decimal("4230"),
              stock_quantity=8, sku="DUN-16", studded=True)  # fmt: skip
    context, agent = CallContext(uuid.uuid4(), "en"), RuleBasedAgent()
    agent.turn(context, "winter tires 205 55 16, four of them")
    answer = agent.turn(context, "are the second ones studded?").text
    assert "Dunlop Winter Sport 5" in answer and "stud" in answer.lower()
    agent.turn(context, "yes")
    assert context.state["choice"]["sku"] == "DUN-16"
