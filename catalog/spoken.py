"""Numbers as callers say them, in English, Ukrainian and Russian, turned into digits.

"two hundred five fifty five R sixteen" -> "205 55 R 16"; "zero six seven one two three" ->
"0 6 7 1 2 3"; "двісті п'ять п'ятдесят п'ять" -> "205 55". Speech-to-text often writes digits
itself; this catches what it spells out, and the tire-size and phone parsers read the result.
"""

import re

_UNITS = {
    # English
    "zero": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
    # Ukrainian
    "нуль": 0, "один": 1, "одна": 1, "одне": 1, "одну": 1, "два": 2, "дві": 2, "три": 3,
    "чотири": 4, "чотирі": 4, "четирі": 4, "чотирє": 4,  # surzhyk, as speech-to-text spells it
    "п'ять": 5, "шість": 6, "сім": 7, "вісім": 8, "дев'ять": 9,
    # Russian
    "ноль": 0, "одно": 1, "две": 2, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7,
    "восемь": 8, "девять": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "десять": 10, "одинадцять": 11, "дванадцять": 12, "тринадцять": 13, "чотирнадцять": 14,
    "п'ятнадцять": 15, "шістнадцять": 16, "сімнадцять": 17, "вісімнадцять": 18,
    "дев'ятнадцять": 19, "шіснадцять": 16, "пятнадцять": 15, "шестнацать": 16,
    "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18,
    "девятнадцать": 19,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
    "двадцять": 20, "тридцять": 30, "сорок": 40, "п'ятдесят": 50, "шістдесят": 60,
    "сімдесят": 70, "вісімдесят": 80, "дев'яносто": 90, "шісят": 60, "шісдесят": 60,
    "пятдесят": 50, "пісят": 50, "пiсят": 50, "сімсят": 70,
    "двацять": 20, "двацать": 20, "шездесят": 60,
    "двадцать": 20, "тридцать": 30, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70,
    "восемьдесят": 80, "девяносто": 90,
}  # fmt: skip
_HUNDREDS = {
    "сто": 100, "двісті": 200, "триста": 300, "чотириста": 400, "п'ятсот": 500,
    "шістсот": 600, "сімсот": 700, "вісімсот": 800, "дев'ятсот": 900,
    "двести": 200, "четыреста": 400, "пятьсот": 500, "шестьсот": 600, "семьсот": 700,
    "восемьсот": 800, "девятьсот": 900,
}  # fmt: skip
_HUNDRED = {"hundred"}
_FILLER = {"and", "і", "й", "и"}  # "two hundred and five"

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"})
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+|[^\w\s]", re.UNICODE)


def _kind(word: str) -> str | None:
    if word in _UNITS:
        return "unit"
    if word in _TEENS:
        return "teen"
    if word in _TENS:
        return "tens"
    if word in _HUNDREDS or word in _HUNDRED:
        return "hundreds"
    return None


def words_to_digits(text: str) -> str:
    """The text with spoken numbers written as digits; other words stay as they are (lower case).

    A number is built while each word can follow the last ("two hundred" "five"; "fifty"
    "five"); a word that cannot (a unit after a unit: "six seven") starts the next number, so
    digits said one by one stay one by one.
    """
    out: list[str] = []
    value: int | None = None
    last: str | None = None  # kind of the last number word

    def flush() -> None:
        nonlocal value, last
        if value is not None:
            out.append(str(value))
        value, last = None, None

    for token in _TOKEN.findall(text.lower().translate(_APOSTROPHES)):
        kind = _kind(token)
        if kind is None:
            if token in _FILLER and value is not None and last == "hundreds":
                continue
            flush()
            out.append(token)
            continue
        if token in _HUNDRED:  # English "hundred" multiplies what came before
            if last == "unit" and value is not None and value < 10:
                value, last = value * 100, "hundreds"
                continue
            flush()
            value, last = 100, "hundreds"
            continue
        number = _UNITS.get(token, _TEENS.get(token, _TENS.get(token, _HUNDREDS.get(token))))
        joins = (last == "hundreds" and kind in ("unit", "teen", "tens") and value % 100 == 0) or (
            last == "tens" and kind == "unit" and value % 10 == 0 and number != 0
        )
        if value is not None and joins:
            value += number
            last = kind
        else:
            flush()
            value, last = number, kind
    flush()
    text = " ".join(out)
    # Glue punctuation back to the word before it: "55 , r 16" -> "55, r 16".
    return re.sub(r"\s+([^\w\s])", r"\1", text)


def digit_groups(text: str) -> list[str]:
    """The runs of digits in the text after spoken numbers are written as digits."""
    return re.findall(r"\d+", words_to_digits(text))
