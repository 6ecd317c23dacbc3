"""What callers say, by meaning, in English, Ukrainian and Russian: word patterns the rule-based
agent reads a transcript with. Every pattern is matched against lower-case text.

Speech-to-text mixes languages (a Ukrainian caller's "так" may come back as Russian "да", a brand
in Latin letters), so each meaning also accepts the other two languages' words.
"""

import re
from dataclasses import dataclass


def _words(*alternatives: str) -> re.Pattern:
    """Whole words (a trailing * allows any ending: Slavic words change theirs)."""
    parts = [
        re.escape(a[:-1]) + r"[^\W\d_]*" if a.endswith("*") else re.escape(a) for a in alternatives
    ]
    return re.compile(r"(?<![^\W\d_])(?:" + "|".join(parts) + r")(?![^\W\d_])")


YES = _words(
    "yes", "yeah", "yep", "yup", "correct", "right", "sure", "ok", "okay", "confirm*", "exactly",
    "так", "звісно", "авжеж", "правильно", "вірно", "добре", "підтверджую", "згоден", "згодна",
    "да", "верно", "конечно", "хорошо", "подтверждаю", "согласен", "согласна", "ага",
)  # fmt: skip
NO = _words(
    "no", "nope", "not", "wrong", "don't", "dont", "cancel",
    "ні", "не", "нема", "неправильно", "скасуй*",
    "нет", "неверно", "отмен*",
)  # fmt: skip
OPERATOR = _words(
    "operator", "human", "person", "manager", "agent", "somebody", "someone",
    "оператор*", "людин*", "менеджер*", "консультант*",
    "человек*", "живой", "живого",
)  # fmt: skip
GOODBYE = _words(
    "bye", "goodbye", "that's all", "nothing", "thanks", "thank",
    "до побачення", "бувайте", "все", "нічого", "дякую",
    "до свидания", "всё", "ничего", "спасибо",
)  # fmt: skip
# Said only to end a call (unlike "thanks" or "nothing", which also answer questions).
FAREWELL = _words("bye", "goodbye", "до побачення", "бувайте", "до свидания", "пока")
STATUS = _words(
    "status", "where is my order", "my order", "order number", "track*", "check my order",
    "статус*", "моє замовлення", "мое замовлення", "де моє", "номер замовлення", "замовлення номер",
    "мой заказ", "где мой", "номер заказа", "заказ номер",
)  # fmt: skip
WANT_TIRES = _words(
    "tire", "tires", "tyre", "tyres", "buy", "order", "need", "looking",
    "шин*", "резин*", "купити", "потрібн*", "замовити",
    "купить", "нужн*", "заказать",
)  # fmt: skip
SEASONS = {
    "winter": _words("winter", "зимов*", "зимн*", "зима", "зиму"),
    "summer": _words("summer", "літн*", "літо", "летн*", "лето"),
    "all_season": _words(
        "all season", "all-season", "all weather", "all-weather", "всесезон*", "всесезонн*"
    ),
}
STUDDED = _words("studded", "studs", "шипован*", "шипи", "шипы", "шипах")
UNSTUDDED = _words(
    "non-studded", "without studs", "studless", "friction", "без шипів", "без шипов", "липучк*",
    "фрикційн*", "фрикционн*",
)  # fmt: skip
DELIVERY = _words("delivery", "deliver", "ship", "доставк*", "доставт*", "привез*", "доставьте")
PICKUP = _words(
    "pickup", "pick up", "pick them up", "collect", "myself", "come by", "самовивіз", "сам заберу",
    "заберу", "самовывоз", "самовивозом", "самовывозом", "приїду", "приеду",
)  # fmt: skip
CHEAPEST = _words("cheapest", "cheaper", "найдешевш*", "дешевш*", "самые дешевые", "дешевле")
NAME_INTRO = re.compile(
    r"(?:my name is|this is|i am|i'm|it's|мене звати|моє ім'я|мое ім'я|меня зовут|моё имя|мое имя"
    r"|це|я)\s+(?P<name>[^\W\d_][^\d,.!?]{1,40})",
)
# "the first", "number two", "перший", "другий", "первый"...
ORDINALS = {
    1: _words("first", "one", "1", "перш*", "перв*", "один", "одна"),
    2: _words("second", "two", "2", "друг*", "два", "дві", "две"),
    3: _words("third", "three", "3", "трет*", "три"),
}
SET_OF_FOUR = _words("set", "full set", "комплект*")
PAIR = _words("pair", "пар*")


@dataclass(frozen=True)
class Heard:
    """One utterance, read for every meaning the agent may need."""

    text: str

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'").replace("ʼ", "'")

    def has(self, pattern: re.Pattern) -> bool:
        return bool(pattern.search(self.lower))

    @property
    def yes(self) -> bool:
        return self.has(YES) and not self.has(NO)

    @property
    def no(self) -> bool:
        return self.has(NO)

    @property
    def season(self) -> str | None:
        # "all season" contains "season" only; check it before the others.
        for season in ("all_season", "winter", "summer"):
            if self.has(SEASONS[season]):
                return season
        return None

    @property
    def studded(self) -> bool | None:
        if self.has(UNSTUDDED):
            return False
        if self.has(STUDDED):
            return True
        return None

    @property
    def fulfilment(self) -> str | None:
        if self.has(DELIVERY):
            return "delivery"
        if self.has(PICKUP):
            return "pickup"
        return None

    def ordinal(self, choices: int) -> int | None:
        for number, pattern in ORDINALS.items():
            if number <= choices and self.has(pattern):
                return number
        return None
