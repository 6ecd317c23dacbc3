"""Which of the tires offered a caller picks: by place ("вторые"), brand, tread line (said in
Cyrillic too), "the cheapest", price ("за дві чотириста вісімдесят"), or a yes to the only one;
and what a caller asks about them (price, stock, the options, quality, studs, the hours)."""

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from catalog.spoken import words_to_digits

from . import lexicon
from .lexicon import WORD

if TYPE_CHECKING:
    from .understanding import Heard


def offer_chosen(
    heard: "Heard", lower: str, digits: str, language: str, asking: str, offers: Sequence[dict]
) -> int | None:
    """Which of the offers the caller picks: by place, brand, model, "the cheapest", price, or
    a yes to the only one."""
    count = len(offers)
    for place, said in lexicon.ordinals(language).items():
        if said.search(lower):
            if place > count:
                heard.question = "options"  # "the third one" of two: they are said again
                return None
            return count if place == -1 else place
    places = [i for i, offer in enumerate(offers, 1) if offer["brand"] == heard.brand]
    if len(places) == 1:
        return places[0]
    if place := _model_named(lower, offers, places):
        return place
    if len(places) > 1:
        heard.among = places  # "Hankook" with two Hankook lines offered: which one?
        return None
    if heard.cheapest:
        return min(range(count), key=lambda i: float(offers[i]["price"])) + 1
    numbers = [int(n) for n in re.findall(r"\d+", digits)]
    # "за дві чотириста вісімдесят": a price said without "thousand".
    numbers += [int(a) * 1000 + int(b) for a, b in re.findall(r"(?<!\d)(\d) (\d{3})(?!\d)", digits)]
    # "thirty six thirty": a price in two halves.
    numbers += [
        int(a) * 100 + int(b) for a, b in re.findall(r"(?<!\d)(\d{2}) (\d{2})(?!\d)", digits)
    ]
    priced = [
        (abs(float(offer["price"]) - number), i)
        for number in numbers
        if number >= 100
        for i, offer in enumerate(offers, 1)
        if abs(float(offer["price"]) - number) <= 0.01 * number
    ]
    if priced:
        return min(priced)[1]  # the offer whose price is nearest the one said
    # "номер два", "option 2" pick; a lone "два" or "одну" is how many, not which.
    named = re.search(r"(?:номер|варіант|вариант|number|option|#)\s*(\d)(?!\d)", digits)
    if named and 1 <= int(named[1]) <= count:
        return int(named[1])
    if count == 1 and heard.yes:
        return 1
    return None


def _model_named(lower: str, offers: Sequence[dict], among: list[int]) -> int | None:
    """The offer whose tread line was named ("Вентус" for Ventus Prime 4), if only one fits."""
    from rapidfuzz import fuzz

    said = [
        latin(w)
        for w in re.findall(r"[^\W_]+", lower)
        if _distinctive(w) and not lexicon.is_not_name(w) and not words_to_digits(w).isdigit()
    ]
    # The offer with the most of its tread line's words said ("WinterCraft Ice" is not
    # "WinterCraft WP52"); a tie is no pick.
    scores = {}
    for i, offer in enumerate(offers, 1):
        if among and i not in among:
            continue
        words = [w for w in re.findall(r"[^\W_]+", offer["model"].lower()) if _distinctive(w)]
        short = [w for w in re.findall(r"[^\W_]+", offer["model"].lower()) if len(w) == 3]
        matched = sum(any(fuzz.ratio(a, b) >= 78 for a in said) for b in words)
        matched += sum(b in re.findall(r"[^\W_]+", lower) for b in short)  # "X-Ice": "ice"
        if matched:
            scores[i] = matched
    best = sorted(scores.values(), reverse=True)
    if not best or (len(best) > 1 and best[0] == best[1]):
        return None
    return max(scores, key=scores.get)


def _distinctive(word: str) -> bool:
    """A word that can name a tread line: four letters, or letters with digits ("PL01")."""
    letters = sum(char.isalpha() for char in word)
    return (len(word) >= 4 and letters >= 2) or (letters and len(word) >= 3 and letters < len(word))


_LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "e", "ж": "zh",
    "з": "z", "и": "i", "і": "i", "ї": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "sch", "ь": "", "ъ": "", "ы": "y", "э": "e", "ю": "yu", "я": "ya",
    "'": "",
})  # fmt: skip


def latin(word: str) -> str:
    """A Cyrillic word in Latin letters, to compare with tread lines' names ("вентус")."""
    return word.translate(_LATIN)


# "а сколько штук у вас есть?", "є в наявності?", "are they in stock?": how many there are.
_STOCK = re.compile(
    rf"(?<!{WORD})(?:(?:скільки|сколько|how many)(?:\s+{WORD}+){{0,4}}?\s+(?:є|есть|have|got|left|"
    rf"there|залишилось|лишилось|осталось)|в наявності|в наличии|in stock|на складі|на складе)"
    rf"(?!{WORD})"
)


# "Is there", "do you have": asking whether tires of a kind are to be had.
_HAVE = re.compile(rf"(?<!{WORD})(?:є|есть|бувають|бывают|маєте|имеются|have|any)(?!{WORD})")


# Few words besides ("а другі як?", "how are the second ones?"): a question about an offer, not
# a sentence that happens to hold "як" or "what about".
_FEW_WORDS = re.compile(r"\W*(?:[^\W\d_]+(?:['-][^\W\d_]+)?\W*){1,5}")


def _place_said(lower: str) -> bool:
    return any(said.search(lower) for said in lexicon.ordinals("en").values())


def question_in(lower: str, has, offered: bool) -> str | None:
    """What the caller asks (delivery, hours, compare, options, quality, studs, cheapest, stock,
    price), or None; `has` finds a meaning of the lexicon in the utterance."""
    asks = lower.rstrip().endswith("?") or bool(has("question"))
    if has("ask_delivery"):
        return "delivery"
    if has("ask_hours") and asks:
        return "hours"
    if offered and has("ask_compare"):
        return "compare"
    if offered and has("ask_options"):
        return "options"  # "what else do you have?" at the offers
    if has("ask_quality") or (offered and asks and has("ask_good")):
        return "quality"
    if offered and has("ask_how") and _FEW_WORDS.fullmatch(lower) and _place_said(lower):
        return "quality"  # "а вторые как?", "what about the third ones?"
    if (
        offered
        and (has("studded") or has("unstudded"))
        and (
            lower.rstrip().endswith("?")
            or re.search(r"(?:они|вони|they|чи|ли)(?![^\W\d_])", lower)
            or _HAVE.search(lower)  # "а липучка є", "а на липучке есть"
        )
    ):
        return "studs"
    if (
        has("cheapest")
        and asks
        and re.search(r"(?:which|what|який|яка|які|какой|какая|какие|що|что|где|де)", lower)
    ):
        return "cheapest"
    if has("ask_stock") or (asks and _STOCK.search(lower)):
        return "stock"
    if has("ask_price") and asks:
        return "price"
    return None


def place_before_question(lower: str, language: str, count: int) -> int | None:
    """ "ну, другі, а скільки їх є в наявності?": a place said in parts of their own before the
    question is a pick (the question is still answered); "а другі шиповані?" picks nothing."""
    parts = re.split(r"[,.;!?]", lower)

    def asks(part: str) -> bool:
        has = lambda meaning: lexicon.pattern(meaning, language).search(part)  # noqa: E731
        return question_in(part, has, True) is not None

    at = next((i for i, part in enumerate(parts) if asks(part)), 0)
    before, after = " ".join(parts[:at]), " ".join(parts[at:])
    if any(said.search(after) for said in lexicon.ordinals(language).values()):
        return None
    return place_named(before, language, count)


def place_named(lower: str, language: str, count: int) -> int | None:
    """The one place among the offers named by an ordinal ("другі", "the last one")."""
    places = [place for place, said in lexicon.ordinals(language).items() if said.search(lower)]
    if len(places) != 1 or places[0] > count:
        return None
    return count if places[0] == -1 else places[0]
