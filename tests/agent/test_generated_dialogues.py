"""Generated callers: seeded random dialogues on the sample catalog, built from the ways callers
say each thing in uk, ru and en (sizes in digits or words, a rim first, picks by place, brand,
tread line or price, questions on the way, several facts in one breath, corrections at the
read-back, the number they call from). Each must end in exactly the order its caller asked for."""

import random
import uuid

import pytest

from calls.agent.base import CallContext
from calls.agent.rules import RuleBasedAgent
from catalog.models import Brand, Tire
from catalog.sample_catalog import load_sample_catalog
from orders.models import Order

UNITS = {
    "uk": ["", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять"],
    "ru": ["", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    "en": ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
}
TENS = {
    "uk": ["", "", "двадцять", "тридцять", "сорок", "п'ятдесят", "шістдесят", "сімдесят",
           "вісімдесят", "дев'яносто"],
    "ru": ["", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
           "восемьдесят", "девяносто"],
    "en": ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"],
}  # fmt: skip
TEENS = {
    "uk": ["тринадцять", "чотирнадцять", "п'ятнадцять", "шістнадцять", "сімнадцять",
           "вісімнадцять", "дев'ятнадцять"],
    "ru": ["тринадцать", "четырнадцать", "пятнадцать", "шестнадцать", "семнадцать",
           "восемнадцать", "девятнадцать"],
    "en": ["thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"],
}  # fmt: skip
HUNDREDS = {"uk": ["", "сто", "двісті"], "ru": ["", "сто", "двести"], "en": ["", "one", "two"]}
SAY = {
    "uk": {
        "season": {"summer": "літні", "winter": "зимові", "all_season": "всесезонні"},
        "size": ["мені {s} шини {w} {p} {r}", "{w} на {p} р{r}, {s}", "шукаю {s} {w}/{p} R{r}"],
        "place": {1: "перші", 2: "другі", 3: "треті"},
        "cheapest": "найдешевші",
        "brand": "давайте {b}",
        "ask": ["а {b} хороші?", "а які найдешевші?", "скільки коштують?"],
        "qty": {4: ["чотири", "комплект"], 2: ["пару", "дві штуки"]},
        "name": [("Петро", "Петро"), ("мене звати Ольга", "Ольга")],
        "phone": [
            "067 123 45 67",
            "нуль шістдесят сім, сто двадцять три, сорок п'ять, шістдесят сім",
        ],
        "pickup": ["самовивіз", "сам заберу"],
        "delivery": ("доставка в Ірпінь, Соборна 5", "Соборна 5"),
        "yes": ["так", "так, все вірно"],
        "fix_qty": "не чотири, а дві",
        "fix_phone": "ні, телефон інший: 050 111 22 33",
        "both": "ім'я {n}, телефон {ph}",
    },
    "ru": {
        "season": {"summer": "летние", "winter": "зимние", "all_season": "всесезонные"},
        "size": [
            "мне нужны {s} шины {w} {p} {r}",
            "{w} на {p} эр {r}, {s}",
            "{s} резина {w}/{p} R{r}",
        ],
        "place": {1: "первые", 2: "вторые", 3: "третьи"},
        "cheapest": "подешевле",
        "brand": "давайте {b}",
        "ask": ["а {b} хорошие?", "а какие самые дешевые?", "сколько стоят?"],
        "qty": {4: ["четыре", "комплект"], 2: ["пару", "две штуки"]},
        "name": [("Андрей", "Андрей"), ("меня зовут Ирина", "Ирина")],
        "phone": [
            "050 765 43 21",
            "ноль пятьдесят, семьсот шестьдесят пять, сорок три, двадцать один",
        ],
        "pickup": ["самовывоз", "сам заберу"],
        "delivery": ("доставка в Киев, улица Крещатик 22", "Крещатик 22"),
        "yes": ["да", "да, все верно"],
        "fix_qty": "не четыре, а две",
        "fix_phone": "нет, телефон другой: 050 111 22 33",
        "both": "имя {n}, телефон {ph}",
    },
    "en": {
        "season": {"summer": "summer", "winter": "winter", "all_season": "all season"},
        "size": ["I need {s} tires {w} {p} R {r}", "{w}/{p} R{r} {s}", "{s} tyres, {w} {p} {r}"],
        "place": {1: "the first one", 2: "the second", 3: "the third one"},
        "cheapest": "the cheapest",
        "brand": "the {b} please",
        "ask": ["are {b} any good?", "which is cheapest?", "how much are they?"],
        "qty": {4: ["four", "a set of four"], 2: ["two", "a pair"]},
        "name": [("John", "John"), ("my name is Anna Smith", "Anna Smith")],
        "phone": ["067 123 45 67", "zero six seven, one two three, four five, six seven"],
        "pickup": ["pickup", "I'll collect them"],
        "delivery": ("deliver to Kyiv, 5 Khreshchatyk street", "Khreshchatyk"),
        "yes": ["yes", "yes, that's right"],
        "fix_qty": "not four, two",
        "fix_phone": "the phone is wrong, it's 050 111 22 33",
        "both": "name {n}, phone {ph}",
    },
}
PHONES = {"uk": "+380671234567", "ru": "+380507654321", "en": "+380671234567"}
CALLER = "+380931234567"


def in_words(number: int, language: str) -> str:
    words = []
    if number >= 100:
        words.append(HUNDREDS[language][number // 100])
        if language == "en":
            words.append("hundred")
        number %= 100
    if 13 <= number <= 19:
        return " ".join([*words, TEENS[language][number - 13]])
    words += [TENS[language][number // 10], UNITS[language][number % 10]]
    return " ".join(word for word in words if word)


@pytest.fixture(scope="module")
def sample_catalog(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_sample_catalog()
    yield
    with django_db_blocker.unblock():
        Tire.objects.all().delete()
        Brand.objects.all().delete()


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(90))
def test_a_generated_caller_gets_the_order_they_asked_for(sample_catalog, seed):
    rng = random.Random(seed)
    language = ("uk", "ru", "en")[seed % 3]
    say = SAY[language]
    sizes = sorted(
        Tire.objects.filter(is_active=True, stock_quantity__gte=4)
        .values_list("width", "profile", "rim_diameter", "season")
        .distinct()
    )
    width, profile, rim, season = rng.choice(sizes)
    context = CallContext(uuid.uuid4(), language, caller_number=rng.choice(["", CALLER]))
    agent, transcript = RuleBasedAgent(), []

    def caller(text: str) -> None:
        reply = agent.turn(context, text)
        transcript.append(f"  > {text}\n  < {reply.text}")

    numbers = (width, profile, rim)
    if rng.random() < 0.3:
        numbers = tuple(in_words(n, language) for n in numbers)
    quantity = rng.choice([4, 2])
    said_quantity = rng.choice(say["qty"][quantity])
    first = rng.choice(say["size"]).format(s=say["season"][season], w=numbers[0],
                                           p=numbers[1], r=numbers[2])  # fmt: skip
    quantity_first = rng.random() < 0.4
    caller(f"{first}, {said_quantity}" if quantity_first else first)
    offers = context.state.get("offers") or []
    assert offers, "\n".join(transcript)
    if rng.random() < 0.3:
        caller(rng.choice(say["ask"]).format(b=offers[-1]["brand"].replace(" Tyres", "")))
    way = rng.choice(["place", "cheapest", "brand"]) if len(offers) > 1 else "yes"
    if way == "place":
        place = rng.randint(1, len(offers))
        caller(say["place"][place])
    elif way == "cheapest":
        caller(say["cheapest"])
        place = min(range(len(offers)), key=lambda i: float(offers[i]["price"])) + 1
    elif way == "brand":
        place = rng.randint(1, len(offers))
        offer = offers[place - 1]
        same = [o for o in offers if o["brand"] == offer["brand"]]
        named = offer["brand"] + (f" {offer['model']}" if len(same) > 1 else "")
        caller(say["brand"].format(b=named.replace(" Tyres", "")))
    else:
        place = 1
        caller(say["yes"][0])
    wanted = offers[place - 1]
    if quantity > wanted["stock"]:
        quantity, said_quantity, quantity_first = 2, say["qty"][2][0], False
    if not quantity_first or context.expect == "quantity":
        caller(said_quantity)
    said_name, name = rng.choice(say["name"])
    said_phone, phone = rng.choice(say["phone"]), PHONES[language]
    if rng.random() < 0.3:
        caller(say["both"].format(n=name, ph=said_phone))
    else:
        caller(said_name)
        if context.expect == "confirm":  # the number they call from is offered
            caller(say["yes"][0])
            phone = CALLER
        else:
            caller(said_phone)
    if rng.random() < 0.5:
        caller(rng.choice(say["pickup"]))
        fulfilment, address = "pickup", ""
    else:
        said_address, address = say["delivery"]
        caller(said_address)
        fulfilment = "delivery"
    fix = rng.random()
    if fix < 0.15 and quantity == 4:
        caller(say["fix_qty"])
        quantity = 2
    elif fix < 0.3:
        caller(say["fix_phone"])
        phone = "+380501112233"
    caller(rng.choice(say["yes"]))

    order = Order.objects.filter(source_call__uuid=context.call_uuid).first()
    assert order is not None, "\n".join(transcript)
    item = order.items.get()
    got = (item.tire.sku, item.quantity, order.customer_phone, order.fulfilment)
    assert got == (wanted["sku"], quantity, phone, fulfilment), "\n".join(transcript)
    assert name.lower() in order.customer_name.lower(), "\n".join(transcript)
    assert address.lower() in order.delivery_address.lower(), "\n".join(transcript)
