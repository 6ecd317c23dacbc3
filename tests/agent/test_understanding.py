"""Understanding: what one utterance says, read for every slot at once, in uk, ru and en. Pure
(no database): the shop's brands and the offers on the table are passed in as data."""

import pytest

from calls.agent.heard_numbers import find_phone, sizes_like, valid_phone
from calls.agent.understanding import understand
from catalog.services import TireSize

BRANDS = [
    ("Toyo", ["Тойо"]),
    ("Kleber", ["Клебер"]),
    ("Nexen", ["Нексен"]),
    ("Michelin", ["Мішлен", "Мишлен"]),
    ("Nokian Tyres", ["Нокіан", "Нокиан", "Nokian"]),
    ("Premiorri", ["Преміоррі", "Премиорри"]),
]
OFFERS = [
    {"sku": "K", "brand": "Kleber", "model": "Krisalp HP3", "price": "2500.00"},
    {"sku": "N", "brand": "Nexen", "model": "Winguard Sport 2", "price": "2480.00"},
    {"sku": "T", "brand": "Toyo", "model": "Observe S944", "price": "3100.00"},
]


def heard(text: str, language: str = "uk", asking: str = "free", offers=()):
    return understand(text, language, asking, BRANDS, offers)


# --- Several facts in one breath ----------------------------------------------------------------


def test_yes_and_a_quantity_to_the_only_offer():
    said = heard("так, беру, чотири", asking="choice", offers=OFFERS[:1])
    assert (said.choice, said.quantity, said.yes) == (1, 4, True)


def test_a_brand_and_a_quantity_pick_the_offer_and_the_number():
    said = heard("the Kleber then, four", "en", asking="choice", offers=OFFERS)
    assert (said.choice, said.quantity) == (1, 4)


def test_names_as_english_callers_introduce_themselves():
    for said in ("name's Bob and it's oh six seven", "the name's Bob", "my name is Bob"):
        assert heard(said, "en", asking="choice", offers=OFFERS).name == "Bob", said


def test_name_and_phone_in_one_breath():
    said = heard("ім'я Петро, телефон 063 123 45 67", asking="name")
    assert (said.name, said.phone) == ("Петро", "+380631234567")


def test_delivery_with_the_address_in_the_same_sentence():
    said = heard("доставка в Ірпінь, Соборна 5", asking="fulfilment")
    assert (said.fulfilment, said.address) == ("delivery", "Ірпінь, Соборна 5")
    assert said.quantity is None  # the house number is not a quantity


def test_everything_at_once():
    said = heard("Four Michelin winter tires, 205/55 R16, with studs, delivery please", "en")
    assert said.size == TireSize(205, 55, 16)
    assert (said.season, said.studded, said.brand) == ("winter", True, "Michelin")
    assert (said.quantity, said.fulfilment) == (4, "delivery")


def test_a_quantity_after_the_size():
    assert heard("зимові 215 65 16 чотири").quantity == 4
    assert (
        heard("i need studded winter tires two oh five fifty five sixteen", "en").quantity is None
    )


# --- Corrections and cancellation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "quantity"),
    [
        ("не чотири, а дві", "uk", 2),
        ("not four, two", "en", 2),
        ("нет, шесть штук", "ru", 6),
        ("два комплекти", "uk", 8),
        ("ой ні, один комплект", "uk", 4),
        ("two sets", "en", 8),
        ("не два комплекта, а шесть шин", "ru", 6),
    ],
)
def test_a_corrected_quantity_is_the_last_said(text, language, quantity):
    assert heard(text, language, asking="confirm").quantity == quantity


@pytest.mark.parametrize(
    ("text", "language", "phone"),
    [
        ("the phone is wrong, the right one is 050 123 45 67", "en", "+380501234567"),
        ("ой ні, це старий номер: 066 765 43 21", "uk", "+380667654321"),
        ("067 123 45 67 ой нет, 066 123 45 67", "ru", "+380661234567"),
        ("067 123 ой ні 067 321 45 67", "uk", "+380673214567"),
    ],
)
def test_a_corrected_phone_is_the_last_full_number(text, language, phone):
    said = heard(text, language, asking="confirm")
    assert said.phone == phone and said.quantity is None


@pytest.mark.parametrize(
    ("text", "language"),
    [("я передумав, скасуйте", "uk"), ("I changed my mind, cancel", "en"), ("отмените", "ru")],
)
def test_cancellation(text, language):
    assert heard(text, language, asking="confirm").cancel


def test_a_named_field_without_a_value_is_a_correction_target():
    said = heard("телефон неправильний", asking="confirm")
    assert said.no and "phone" in said.fields and said.phone is None


# --- Common words are not brands or choices -----------------------------------------------------


def test_toi_is_not_toyo_and_the_pick_is_by_price():
    said = heard("давайте той що за дві чотириста вісімдесят", asking="choice", offers=OFFERS)
    assert said.brand is None and said.choice == 2 and said.quantity is None


def test_another_number_is_not_the_second_offer():
    said = heard("запишите другой номер", "ru", asking="caller_phone", offers=OFFERS)
    assert said.choice is None and said.other_number


@pytest.mark.parametrize(
    ("text", "language", "question"),
    [
        ("are Nexen any good?", "en", "quality"),
        ("а нексен взагалі нормальні", "uk", "quality"),
        ("which is cheapest?", "en", "cheapest"),
        ("how much is delivery?", "en", "delivery"),
        ("а ви доставляєте в обухів", "uk", "delivery"),
        ("до скольки вы работаете?", "ru", "hours"),
        ("what else do you have?", "en", "options"),
        ("а що у вас є ще", "uk", "options"),
        ("какие есть варианты?", "ru", "options"),
    ],
)
def test_questions_are_not_answers(text, language, question):
    said = heard(text, language, asking="choice", offers=OFFERS)
    assert said.question == question
    assert said.choice is None and said.fulfilment is None


# --- Russian and slang ----------------------------------------------------------------------------


def test_russian_ordinals_rims_and_cheaper():
    assert heard("вторые", "ru", asking="choice", offers=OFFERS).choice == 2
    assert heard("эр шестнадцать", "ru", asking="size").rim == 16
    assert heard("на шістнадцятий радіус", asking="size").rim == 16
    assert heard("подешевле", "ru", asking="choice", offers=OFFERS).choice == 2


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Алло, у вас липучка есть на 17-й, 225 45?", "ru"),
        ("на семнадцатый радиус двести двадцать пять сорок пять", "ru"),
        ("17 дюймов, 225 на 45", "ru"),
        ("мені на сімнадцятий, двісті двадцять п'ять сорок п'ять", "uk"),
        ("R17, 225 45", "uk"),
        ("seventeen inch, two twenty five forty five", "en"),
    ],
)
def test_a_size_said_rim_first_is_the_whole_size(text, language):
    """Callers often name the rim first ("на 17-й") and then width and profile."""
    assert heard(text, language).size == TireSize(225, 45, 17)


def test_a_rim_first_with_other_numbers_is_no_size():
    # The quantity and a phone's digits are not a width and a profile.
    said = heard("на 17-й, 4 штуки, телефон 050 123 45 67", "ru")
    assert said.size is None and said.rim == 17


@pytest.mark.parametrize(
    ("text", "language", "season", "studded"),
    [
        ("липучка", "ru", "winter", False),
        ("шипи", "uk", "winter", True),
        ("без шипів", "uk", "winter", False),
        ("та все одно який сезон", "uk", "any", None),
        ("all season", "en", "all_season", None),
    ],
)
def test_seasons_and_studs_as_callers_say_them(text, language, season, studded):
    said = heard(text, language, asking="season")
    assert (said.season, said.studded, said.quantity) == (season, studded, None)


@pytest.mark.parametrize(
    ("text", "language", "quantity"),
    [("комплект", "ru", 4), ("пару", "ru", 2), ("одну", "uk", 1), ("чотири", "uk", 4)],
)
def test_quantity_words(text, language, quantity):
    assert heard(text, language, asking="quantity").quantity == quantity


# --- Names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "name"),
    [
        ("Мене звати Тарас Шевченко", "uk", "Тарас Шевченко"),
        ("меня сергей зовут", "ru", "Сергей"),
        ("Olena", "en", "Olena"),
        ("Чотири", "uk", None),
        ("так", "uk", None),
    ],
)
def test_names_never_numbers_or_answers(text, language, name):
    assert heard(text, language, asking="name").name == name


def test_pickup_is_not_an_address():
    said = heard("тогда я сам заберу", "ru", asking="address")
    assert (said.fulfilment, said.address) == ("pickup", None)


# --- The recognizer's slips -----------------------------------------------------------------------

SIZES = ["195/65 R15", "205/55 R16", "225/55 R16", "205/65 R15", "185/65 R15"]


def test_a_garbled_size_is_matched_against_the_sizes_in_stock():
    said = heard("Time 2555 R16", "en")
    assert (said.size_guess, said.rim) == ("2555", 16)
    assert sizes_like("2555", 16, SIZES) == (["205/55 R16"], False)
    assert sizes_like("9565", 15, SIZES) == (["195/65 R15"], False)
    assert sizes_like("20555", 16, SIZES) == (["205/55 R16"], True)
    assert sizes_like("999", 16, SIZES) == ([], False)


def test_phone_numbers_in_words_groups_and_with_the_country_code():
    assert heard("zero six seven, one two three, four five, six seven", "en", "phone").phone == (
        "+380671234567"
    )
    spoken = "плюс тридцять вісім нуль шістдесят сім один два три сорок п'ять шістдесят сім"
    assert heard(spoken, asking="phone").phone == "+380671234567"
    assert valid_phone("380501234567") == "+380501234567"
    assert valid_phone("0123") is None


def test_a_phone_with_digits_missing_is_a_failed_attempt():
    assert find_phone("063 45 12", wanted=True) == (None, None, True)
    said = heard("063 45 12", asking="phone")
    assert said.phone is None and said.phone_tried and said.name is None


@pytest.mark.parametrize(
    ("text", "language", "operator", "farewell"),
    [
        ("можно с живым человеком поговорить", "ru", True, False),
        ("я не хочу с роботом разговаривать дайте человека", "ru", True, False),
        ("someone will pick them up", "en", False, False),
        ("запишите на другого человека", "ru", False, False),
        ("пока не знаю, сколько штук", "ru", False, False),
        ("ну всё, пока", "ru", False, True),
        ("Пока", "ru", False, True),
    ],
)
def test_operator_and_goodbye_only_when_meant(text, language, operator, farewell):
    said = heard(text, language)
    assert (said.operator, said.farewell) == (operator, farewell)


@pytest.mark.parametrize(
    ("text", "language", "choice", "quantity"),
    [
        ("the middle one", "en", 2, None),
        ("the Toyo one, four", "en", 3, 4),
        ("the one for twenty four eighty", "en", 2, None),
        ("ханкук", "ru", None, None),
    ],
)
def test_picks_among_the_offers(text, language, choice, quantity):
    said = heard(text, language, asking="choice", offers=OFFERS)
    assert (said.choice, said.quantity) == (choice, quantity)


def test_two_lines_of_one_brand_ask_which_and_a_tread_line_said_in_cyrillic_picks():
    offers = [
        {"sku": "V", "brand": "Hankook", "model": "Ventus Prime 4", "price": "4140"},
        {"sku": "K", "brand": "Hankook", "model": "Kinergy Eco 2", "price": "4190"},
    ]
    brands = [("Hankook", ["Ханкук"])]
    said = understand("ханкук", "ru", "choice", brands, offers)
    assert (said.choice, said.among) == (None, [1, 2])
    assert understand("вентус", "ru", "choice", brands, offers).choice == 1


@pytest.mark.parametrize(
    ("text", "cancel", "quantity"),
    [("I changed my mind, make it two", False, 2), ("I changed my mind", True, None)],
)
def test_changing_ones_mind(text, cancel, quantity):
    said = heard(text, "en", asking="confirm")
    assert (said.cancel, said.quantity) == (cancel, quantity)


@pytest.mark.parametrize(
    ("text", "language", "name", "quantity"),
    [
        ("ім'я не Тарас Шевченко, а Юлія", "uk", "Юлія", None),
        ("make it two instead of four", "en", None, 2),
        ("дві замість чотирьох", "uk", None, 2),
        ("кількість дві а не чотири", "uk", None, 2),
    ],
)
def test_the_value_negated_is_not_the_value(text, language, name, quantity):
    said = heard(text, language, asking="confirm")
    assert (said.name, said.quantity) == (name, quantity)


def test_a_phone_or_a_quantity_correction_picks_no_offer():
    offers = [*OFFERS[:2], {"sku": "P", "brand": "Pirelli", "model": "P Zero", "price": "6790"}]
    phone = heard("zero six seven, one two three, four five, six seven", "en", "phone", offers)
    assert phone.choice is None and phone.phone == "+380671234567"
    fix = heard("не чотири, а дві", asking="choice", offers=offers)
    assert (fix.choice, fix.quantity) == (None, 2)


def test_tread_lines_with_digits_pick_and_are_no_quantity():
    offers = [
        {"sku": "P", "brand": "Triangle", "model": "PL01", "price": "4420"},
        {"sku": "T", "brand": "Triangle", "model": "TI501", "price": "5180"},
        {"sku": "A", "brand": "Michelin", "model": "Alpin 6", "price": "7000"},
        {"sku": "X", "brand": "Michelin", "model": "X-Ice North 4", "price": "7740"},
    ]
    brands = [("Triangle", []), ("Michelin", [])]
    said = understand("the Triangle PL01 please", "en", "choice", brands, offers)
    assert (said.choice, said.quantity) == (1, None)
    assert understand("the Michelin X-Ice please", "en", "choice", brands, offers).choice == 4


@pytest.mark.parametrize(
    ("text", "language", "status"),
    [
        ("хочу зробити замовлення", "uk", False),
        ("I would like to place an order", "en", False),
        ("де моє замовлення?", "uk", True),
        ("is order 845120 ready for pickup yet", "en", True),
        ("я вчора замовляв шини, хотів дізнатися коли будуть", "uk", True),
    ],
)
def test_a_new_order_is_no_status_request(text, language, status):
    assert heard(text, language).status == status


@pytest.mark.parametrize(
    ("text", "language", "choice", "quantity"),
    [("одну", "ru", None, 1), ("два", "uk", None, 2), ("номер два", "uk", 2, None)],
)
def test_a_lone_number_among_offers_is_how_many_not_which(text, language, choice, quantity):
    said = heard(text, language, asking="choice", offers=OFFERS)
    assert (said.choice, said.quantity) == (choice, quantity)


def test_yes_but_a_field_confirms_nothing():
    said = heard("так, але телефон інший", asking="confirm")
    assert not said.yes and said.correction and "phone" in said.fields
    assert heard("Ирпень, Соборная 5", "ru", asking="confirm").quantity is None


def test_an_address_to_pickup_or_delivery_is_a_delivery():
    said = heard("Ірпінь, Соборна 5", asking="fulfilment")
    assert (said.fulfilment, said.address) == ("delivery", "Ірпінь, Соборна 5")
    assert heard("2 штуки", asking="fulfilment").fulfilment is None
