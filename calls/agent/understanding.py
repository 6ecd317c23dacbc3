"""Understanding: one utterance read for everything in it, at once.

Text + the call's language + what the bot last asked -> a `Heard` of every slot (size, season,
studs, brand, offer chosen, quantity, name, phone, pickup or delivery with the address), yes/no,
corrections, cancellation, questions and requests. Pure: no database, no Django; the catalog's
brands and the offers on the table come in as plain data.
"""

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from catalog.services import (
    TireSize,
    join_split_hundreds,
    parse_rim,
    parse_size_after_rim,
    parse_spoken_size,
)
from catalog.spoken import words_to_digits

from . import lexicon
from .heard_choice import offer_chosen, place_before_question, place_named, question_in
from .heard_names import (
    address_in,
    bare_name,
    corrected_address,
    like_brand,
    name_in,
    without_negated,
)
from .heard_numbers import (
    TAKEN_BACK,
    corrected_size,
    find_phone,
    small_numbers,
    spoken_thousands,
    without_size,
)
from .lexicon import WORD, pattern

_QUANTITY_NOUN = re.compile(
    r"(?<!\d)(?P<n>\d{1,2})[\s-]*(?:[^\W\d_]+\s+){0,2}?"
    r"(?:tires|tyres|tire|tyre|pieces|wheels|шин[^\W\d_]*|колес[^\W\d_]*|резин[^\W\d_]*|штук[^\W\d_]*|"
    r"штуки|скат[^\W\d_]*)"
)
# "I need four tires" comes back from speech-to-text as "I need for tires" (not "looking for").
_FOR_TIRES = re.compile(r"\b(need|want|take|buy|get)\s+for\s+((?:[^\W\d_]+\s+)?(?:tires|tyres))\b")
_R_SPOKEN = re.compile(rf"(?<!{WORD})(?:эр|ер|ар|er|ar|are|р|r)\s*(?=\d{{2}}(?!\d))")
_R_GLUED = re.compile(
    rf"(?<!{WORD})([rр])(?=(?:сто|дв|тр|чот|чет|п'ят|пят|шіс|шес|сім|сем|віс|вос|дев|одн|один|ten|"
    r"six|fif|thir|four|seven|eigh|nine|twen))"
)
_DOUBLE = re.compile(r"\bdouble\s+(\d)(?!\d)")  # "double four" -> "4 4"
_ORDER_AND_NUMBER = re.compile(
    rf"(?:order|замовленн{WORD}*|заказ{WORD}*)\s*(?:number|номер|№|#)?\s*\d{{4,}}"
)
# "на 17-й", "на 16-ый", "на 15-ті": a rim as an ordinal after "на", whatever came before it.
_ON_ORDINAL = re.compile(r"\bна\s+(\d{2})\s*-?\s*(?:[иіыо]?й|ого|го|ті|те|ые|і)\b")
_ON_RIM = re.compile(
    r"(?:шин[^\W\d_]*|резин[^\W\d_]*|колес[^\W\d_]*|tires|tyres|гум[^\W\d_]*)"
    r"(?:\s+[^\W\d_]+){0,2}\s+(?:на|for)\s+(\d{2})(?!\d)(?!\s*\d)"
)
_PAIRS = re.compile(r"(?<!\d)(\d)\s+(?:пар[^\W\d_]*|pairs?)")
# "два комплекти", "one set", "2 sets": sets of four.
_SETS = re.compile(r"(?<!\d)(\d)\s+(?:компл[єе]кт[^\W\d_]*|компект[^\W\d_]*|sets?\b)")
# "the first one", "that one": "one" is a pronoun there, not a quantity.
_PRONOUN_ONE = re.compile(
    r"\b((?:the|that|this|those|these)(?:\s+[a-z]+)?|first|second|third|last|middle|cheapest|"
    r"cheaper|which|other|another|same|a|cheap|good|right|correct|new|old|wrong|expensive|winter|"
    r"summer|studded|next|best)\s+(?:one|ones)\b"
)
# "все одно" (doesn't matter) holds the Russian "одно" (one): not a number.
_NOT_NUMBERS = re.compile(r"все одно|всё равно|все равно|одно и то же|one of them|no one")
_ORDER_NUMBER = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


@dataclass
class Heard:
    text: str
    lower: str = ""
    size: TireSize | None = None
    size_guess: str = ""  # digits that may be a size speech-to-text garbled ("2555" + rim)
    rim: int | None = None
    season: str | None = None  # summer, winter, all_season, or "any"
    studded: bool | None = None
    brand: str | None = None
    choice: int | None = None  # 1-based place among the offers
    about: int | None = None  # the offer a question names ("а другі шиповані?")
    among: list[int] = field(default_factory=list)  # offers of the brand named, when several
    cheapest: bool = False
    quantity: int | None = None
    name: str | None = None
    phone: str | None = None  # E.164
    phone_tried: bool = False  # digits were said for a phone, but no valid number came of them
    fulfilment: str | None = None  # pickup, delivery
    address: str | None = None
    town: str | None = None  # a place said with "delivery" before the street
    yes: bool = False
    no: bool = False
    cancel: bool = False
    correction: bool = False
    fields: set[str] = field(default_factory=set)  # fields named (quantity, name, phone, ...)
    question: str | None = None  # price, delivery, quality, hours, cheapest
    operator: bool = False
    farewell: bool = False
    done: bool = False
    status: bool = False
    want_tires: bool = False
    other_number: bool = False
    this_number: bool = False  # "the number I'm calling from"
    address_named: bool = False  # "адрес", "address" said (a correction may target it)
    order_number: str | None = None

    @property
    def search(self) -> dict:
        """The search slots heard (size, rim, season, studs, brand)."""
        found = {
            "size": str(self.size) if self.size else None,
            "rim": self.rim if not self.size else None,
            "season": self.season,
            "studded": self.studded,
            "brand": self.brand,
        }
        return {key: value for key, value in found.items() if value is not None}


def understand(
    text: str,
    language: str,
    asking: str = "free",
    brands: Sequence[tuple[str, Sequence[str]]] = (),
    offers: Sequence[dict] = (),
) -> Heard:
    """Everything `text` says. `asking` is the bot's last question (size, season, choice,
    quantity, name, phone, caller_phone, fulfilment, address, confirm, change, order_number,
    free); it decides what a bare answer ("four", "Petro", "yes") fills."""
    lower = lexicon.normalize(text)
    heard = Heard(text, lower)

    def has(meaning: str) -> re.Match | None:
        return pattern(meaning, language).search(lower)

    heard.operator = bool(has("operator"))
    # "пока" is goodbye only at the end: "пока не знаю" is "I don't know yet".
    heard.farewell = bool(
        has("farewell")
        or re.search(r"(?:^|[,.!]\s*)(?:ну\s+)?пока\W*$", lower)
        or re.search(r"(?:я\s+)?подумаю\W*$", lower)  # "дякую, я подумаю" ends the call
    )
    heard.done = bool(has("done"))
    heard.status = bool(has("status"))
    heard.want_tires = bool(has("want_tires"))
    heard.no = bool(has("no"))
    heard.yes = bool(has("yes")) and not heard.no
    heard.correction = bool(has("correction"))
    heard.other_number = bool(has("other_number"))
    heard.address_named = bool(has("field_address"))
    heard.this_number = bool(has("this_number"))
    heard.fields = {
        name for name in ("quantity", "name", "phone", "fulfilment", "tire") if has(f"field_{name}")
    }
    if heard.yes and has("but") and (heard.fields or heard.correction or heard.address_named):
        heard.yes, heard.correction = False, True  # "yes, but the phone is another one"
    heard.question = question_in(lower, has, bool(offers))
    # In a correction the value negated is dropped: "не чотири, а дві" says two.
    values = without_negated(lower)
    said_numbers = re.findall(r"\d+", words_to_digits(lower))
    negated_number = bool(said_numbers) and said_numbers != re.findall(
        r"\d+", words_to_digits(values)
    )

    # Numbers: spoken words as digits, rims said as ordinals, "эр 16" as "r16"; a tread line's
    # own digits ("PL01", "Alpin 6") are none of them.
    digits = _NOT_NUMBERS.sub(" ", _PRONOUN_ONE.sub(r"\1", _without_models(values, offers)))
    digits = re.sub(rf"(?<={WORD})-(?={WORD})", " ", digits)  # "fifty-five", "р-шістнадцять"
    digits = _R_GLUED.sub(r"\1 ", digits)  # "Rшістнадцять"
    digits = spoken_thousands(words_to_digits(lexicon.rims_as_digits(digits)))
    digits = _R_SPOKEN.sub("r", digits)
    digits = join_split_hundreds(_DOUBLE.sub(r"\1 \1", digits))  # "2 105 55 r16"
    heard.status = bool(_ORDER_AND_NUMBER.search(digits)) or (
        heard.status and not has("new_order")  # "хочу зробити замовлення" is a new one
    )

    # Digits said for a phone: when one is asked for, or at the read-back to correct it.
    phone_wanted = asking in ("phone", "caller_phone") or (
        asking in ("confirm", "change") and "phone" in heard.fields
    )
    phone, phone_span, tried = find_phone(digits, wanted=phone_wanted)
    heard.phone, heard.phone_tried = phone, tried
    if phone_span:
        digits = digits[: phone_span[0]] + " " + digits[phone_span[1] :]
    if asking == "order_number" or (heard.status and not phone):
        if number := _ORDER_NUMBER.search(re.sub(r"(?<=\d)[\s,.-]+(?=\d)", "", digits)):
            heard.order_number = number.group()
            return heard

    digits = corrected_size(digits)
    _read_size(heard, digits, asking)
    _read_season(heard, has)
    address_at = _read_fulfilment(heard, has, asking)
    if asking in ("confirm", "change") and (field := has("field_address")):
        heard.address = corrected_address(text, field) or heard.address
        address_at = min(address_at, field.start())
    if asking not in ("name", "phone", "caller_phone", "address", "fulfilment"):
        heard.brand = _brand(lower[:address_at], brands)  # "Ярослава" in an address is no Rosava
    heard.cheapest = bool(has("cheapest"))
    # A pick among the offers: not while a name, phone or address is said ("zero" is no P Zero).
    picking = asking not in ("name", "phone", "caller_phone", "fulfilment", "address")
    # "не чотири, а дві" corrects a quantity: the number left is no place among the offers.
    asked = "confirm" if negated_number else asking
    if offers and not heard.question and picking:
        heard.choice = offer_chosen(heard, lower, digits, language, asked, offers)
    elif offers and picking:
        heard.choice = place_before_question(lower, language, len(offers))
        heard.about = None if heard.choice else place_named(lower, language, len(offers))
    heard.quantity = _quantity(heard, lower, digits, language, asked, has, offers)
    if heard.quantity and not heard.choice and len(offers) == 1 and asking == "choice":
        heard.choice = 1  # "four" to the only tire offered takes it
    heard.name = name_in(text, values, language, asking, heard.phone_tried)
    if heard.name and asking == "name" and like_brand(heard.name, brands):
        heard.name = None  # "нокіан" to "what name?" is no name
    corrected = heard.correction and asking in ("phone", "caller_phone") and not heard.address
    if heard.name is None and (asking in ("size", "season", "choice", "quantity") or corrected):
        heard.name = bare_name(text, brands, offers)
    # "I changed my mind" alone cancels; with a new value it changes the order instead.
    changes = (heard.choice, heard.quantity, heard.phone, heard.name, heard.address)
    heard.cancel = bool(has("cancel")) and not heard.search and not any(changes)
    return heard


def _read_size(heard: Heard, digits: str, asking: str) -> None:
    heard.size = parse_spoken_size(digits)
    if heard.size is None:
        heard.rim = parse_rim(digits)
        if heard.rim is None and (on := _ON_RIM.search(digits)) and 13 <= int(on[1]) <= 22:
            heard.rim = int(on[1])  # "шины на шестнадцать"
        if heard.rim is None and (on := _ON_ORDINAL.search(digits)) and 13 <= int(on[1]) <= 22:
            heard.rim = int(on[1])  # "есть на 17-й?"
        if heard.rim and (size := parse_size_after_rim(digits, heard.rim)):
            heard.size, heard.rim = size, None  # "на 17-й, 225 45"
            return
        if heard.rim is None and asking == "size":
            groups = re.findall(r"\d+", digits)
            alone = not re.search(rf"{WORD}{{3,}}", re.sub(r"радіус|радиус|rim|inch", "", digits))
            if alone and len(groups) == 1 and 13 <= int(groups[0]) <= 22:
                heard.rim = int(groups[0])  # "шістнадцять" alone, when a size is asked for
        rest = re.sub(rf"(?:r\s*|[rр]\s*){heard.rim}(?!\d)", " ", digits) if heard.rim else digits
        groups = re.findall(r"\d+", rest)
        # "245 45, 4": a width and a profile, then the quantity; else all digits heard.
        parts = re.search(r"(?<!\d)(\d{3})[\s,./-]+(\d{2})(?!\d)", rest)
        guess = parts[1] + parts[2] if parts else "".join(groups)
        if (heard.rim or asking == "size") and 3 <= len(guess) <= 7:
            heard.size_guess = guess


def _read_season(heard: Heard, has) -> None:
    if has("unstudded"):
        heard.studded = False
    elif has("studded"):
        heard.studded = True
    for season in ("all_season", "winter", "summer"):
        if has(season):
            heard.season = season
            break
    if heard.season is None and heard.studded is not None:
        heard.season = "winter"  # studs or "липучка" are winter tires
    if heard.season is None and has("any_season"):
        heard.season = "any"


def _brand(lower: str, brands: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    """The brand named, fuzzily (speech-to-text spells brands its own way), but never a common
    word: only words of four letters or more that no lexicon knows, against the shop's brands."""
    if not brands:
        return None
    from rapidfuzz import fuzz, process

    choices: dict[str, str] = {}
    for name, aliases in brands:
        for spelling in (name, *aliases):
            choices[spelling.lower()] = name
    said = re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)?", lower)
    candidates = [w for w in said if len(w) >= 4 and not lexicon.is_not_name(w)]
    candidates += [f"{a} {b}" for a, b in itertools.pairwise(said) if len(a + b) >= 6]
    best: tuple[float, str] | None = None
    for candidate in candidates:
        cutoff = 88 if len(candidate) <= 5 else 82
        found = process.extractOne(candidate, list(choices), scorer=fuzz.ratio, score_cutoff=cutoff)
        if found and (best is None or found[1] > best[0]):
            best = (found[1], choices[found[0]])
    return best[1] if best else None


def _quantity(heard, lower, digits, language, asking, has, offers) -> int | None:
    """How many tires: "four tires", "комплект", "пару", "одну", or a bare number where one is
    expected. A self-correction ("not four, two") leaves the last number said."""
    text = _FOR_TIRES.sub(r"\1 4 \2", digits)
    explicit = [(m.start(), int(m["n"])) for m in _QUANTITY_NOUN.finditer(text)]
    explicit += [(m.start(), 2 * int(m[1])) for m in _PAIRS.finditer(text)]  # "две пары"
    explicit += [(m.start(), 4 * int(m[1])) for m in _SETS.finditer(text)]  # "два комплекти": 8
    back = [m.end() for m in TAKEN_BACK.finditer(text)]
    if explicit and back and back[-1] > max(explicit)[0]:
        # "дві штуки, ой ні, чотири": the number said after taking the count back.
        after = small_numbers(without_size(text[back[-1] :], heard.size), heard.size, heard.rim)
        if len(after) == 1 and 0 < after[0] <= 20:
            return after[0]
    if explicit:
        last = sorted(explicit)[-1][1]  # "не два комплекти, а шість шин" says six
        return last if 0 < last <= 99 else None
    words = [(m.start(), n) for m, n in ((has("set_of_four"), 4), (has("pair"), 2)) if m]
    if (m := has("one_tire")) and not has("set_of_four"):  # "на одну машину" is four
        words.append((m.start(), 1))
    bare = asking in ("quantity", "choice", "confirm", "change") or bool(heard.size)
    unknown = [
        w for w in re.findall(rf"{WORD}{{4,}}", lower)
        if not lexicon.is_not_name(w) and not words_to_digits(w).isdigit()
    ]  # fmt: skip
    if asking in ("confirm", "change") and unknown:
        # At the read-back a number said with other words is a quantity only when said to be
        # one ("Ірпінь, Соборна 5" is an address).
        bare = bool(heard.no or heard.correction or "quantity" in heard.fields)
    text = _without_prices(without_size(text, heard.size), offers)
    text = re.sub(r"(?:номер|варіант|вариант|number|option|#)\s*\d(?!\d)", " ", text)
    if heard.address or heard.phone or heard.phone_tried:
        bare = False  # house numbers and phone digits are not quantities
    named = (heard.fields - {"tire"}) | ({"address"} if heard.address_named else set())
    if asking in ("confirm", "change") and named and "quantity" not in named:
        bare = False  # "the phone is wrong, 050 9 87 65": its digits are no quantity
    numbers = [n for n in small_numbers(text, heard.size, heard.rim) if n <= 20] if bare else []
    if asking == "choice" and heard.choice and numbers and len(numbers) == 1:
        # "the second one" said as "2": not a quantity when it is the place itself.
        if re.fullmatch(r"\W*\d\W*", text):
            numbers = []
    if words and not numbers:
        return sorted(words)[-1][1]
    if numbers:
        return numbers[-1]
    return None


def _without_models(lower: str, offers: Sequence[dict]) -> str:
    for offer in offers:
        model = re.escape(offer["model"].lower()).replace(r"\ ", r"[\s-]*")
        lower = re.sub(model, " ", lower)
        for token in re.findall(r"[^\W_]*[^\W\d_][^\W_]*", offer["model"].lower()):
            if re.search(r"\d", token):  # "pl01", "wp52", "s944"
                lower = re.sub(rf"(?<![^\W_]){re.escape(token)}(?![^\W_])", " ", lower)
    return lower


def _without_prices(text: str, offers: Sequence[dict]) -> str:
    """The text without prices said in parts ("2 480", "36 30"): they are not quantities."""
    prices = [float(offer["price"]) for offer in offers]

    def price(match: re.Match) -> str:
        value = int(match[1]) * 100 + int(match[2])
        return " " if any(abs(value - p) <= 0.01 * value for p in prices) else match[0]

    text = re.sub(r"(?<!\d)(\d) (\d{3})(?!\d)", " ", text)
    return re.sub(r"(?<!\d)(\d{2}) (\d{2})(?!\d)", price, text)


def _read_fulfilment(heard: Heard, has, asking: str) -> int:
    """Pickup or delivery, and the address said with it; where the address starts."""
    if heard.question == "delivery":
        return len(heard.lower)
    found = []
    for kind in ("pickup", "delivery"):
        for match in pattern(kind, "en").finditer(heard.lower):
            found.append((match.start(), match.end(), kind))
    if found:
        _, end, heard.fulfilment = max(found)  # the last one said wins ("not delivery: pickup")
        if heard.fulfilment == "delivery":
            address = address_in(heard.text[end:])
            # In the same breath as "delivery" only a real address: a number or two words.
            if address and (re.search(r"\d", address) or len(re.findall(r"\w{3,}", address)) >= 2):
                heard.address = address
                return end
            heard.town = address  # "доставка в Київ": the street is still to come
    elif asking == "fulfilment" and not (heard.question or heard.cancel or heard.no):
        # "Ірпінь, Соборна 5" to "pickup or delivery?": an address says delivery.
        address = address_in(heard.text)
        places = [
            w for w in re.findall(rf"{WORD}{{4,}}", heard.lower) if not lexicon.is_not_name(w)
        ]
        quantity = _QUANTITY_NOUN.search(words_to_digits(heard.lower))
        if address and re.search(r"\d", address) and places and not quantity:
            heard.fulfilment, heard.address = "delivery", address
            return 0
    elif asking == "address" and not heard.question and not heard.cancel:
        address = address_in(heard.text)
        if address and len(address) >= 4 and not (heard.no and len(address.split()) <= 2):
            heard.address = address
            return 0
    return len(heard.lower)
