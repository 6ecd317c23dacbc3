"""Numbers in what a caller said (after spoken numbers became digits): phone numbers, including
one corrected in the same breath, prices said in thousands, small numbers (quantities), and the
sizes in stock a garbled size may have been; a size or count taken back ("ой, нет, ...")."""

import re

import phonenumbers

from catalog.services import TireSize, parse_spoken_size
from orders.services import normalize_phone

from .lexicon import WORD

_GROUP = re.compile(r"\d+")
# What takes back a size or a count said just before: "195 65 15, ой, нет, 195 60 15".
TAKEN_BACK = re.compile(
    rf"(?<!{WORD})(?:ой|нет|ні|ни|вернее|вірніше|точнее|точніше|тобто|то есть|вибачте|извините|"
    rf"пардон|sorry|i mean|no|rather|actually|oops)(?!{WORD})"
)
_BETWEEN = re.compile(r"^[\s,.\-()+]*(?:плюс|plus)?[\s,.\-()+]*$")
_THOUSANDS = re.compile(
    r"(?:(?P<n>\d{1,3})\s+)?(?:thousand|тисяч[^\W\d_]*|тысяч[^\W\d_]*)(?:\s*(?:and\s+)?"
    r"(?P<rest>\d{1,3})(?!\d))?"
)
# Ukrainian mobile operators' codes: a number said without its leading 0 is still theirs.
_MOBILE_CODES = ("39", "50", "63", "66", "67", "68", "73", "91", "92", "93", "94", "95", "96",
                 "97", "98", "99")  # fmt: skip


def spoken_thousands(digits: str) -> str:
    """ "2 тисячі 500" -> "2500", "thousand 800" -> "1800": prices callers say."""

    def join(match: re.Match) -> str:
        value = int(match["n"] or 1) * 1000 + int(match["rest"] or 0)
        return str(value)

    return _THOUSANDS.sub(join, digits)


def valid_phone(digits: str, region: str = "UA") -> str | None:
    """The E.164 form of a number said as digits, or None when it is not a valid number."""
    if len(digits) == 12 and digits.startswith("380"):
        digits = "+" + digits
    elif len(digits) == 11 and digits.startswith("80"):
        digits = "+3" + digits
    elif len(digits) == 9 and region == "UA" and digits.startswith(_MOBILE_CODES):
        digits = "0" + digits
    # Parsing and checking the number is the order service's rule: one home for it.
    return normalize_phone(digits, str(phonenumbers.country_code_for_region(region)))


def find_phone(
    digits: str, *, wanted: bool, region: str = "UA"
) -> tuple[str | None, tuple[int, int] | None, bool]:
    """(the phone number said, where it was said, whether digits were said for a phone in vain).

    Groups of digits next to each other ("067 123 45 67") form one number; when a caller
    corrects themselves ("067 ... ой ні, 066 ..."), the last valid number said wins."""
    groups = [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(digits)]
    best: tuple[int, int, str, int] | None = None  # (end, length, phone, start)
    for i in range(len(groups)):
        joined = ""
        for j in range(i, len(groups)):
            if j > i and not _BETWEEN.match(digits[groups[j - 1][1] : groups[j][0]]):
                break
            joined += groups[j][2]
            if len(joined) > 12:
                break
            if len(joined) >= 9 and (phone := valid_phone(joined, region)):
                start = groups[i][0]
                if start > 0 and digits[start - 1] == "+":
                    start -= 1
                key = (groups[j][1], len(joined), phone, start)
                if best is None or key[:2] > best[:2]:
                    best = key
    if best:
        return best[2], (best[3], best[0]), False
    said = sum(len(g[2]) for g in groups)
    return None, None, wanted and said >= 5


def small_numbers(text: str, size: TireSize | None, rim: int | None) -> list[int]:
    """Numbers from 1 to 99 said on their own (not a size's parts, a rim or a price)."""
    skip = [str(part) for part in size] if size else []
    text = re.sub(r"(?:z?[rр]\s*)(\d{2})(?!\d)", " ", text)
    found = []
    for match in _GROUP.finditer(text):
        number = match.group()
        if number in skip:
            skip.remove(number)
            continue
        if rim and number == str(rim):
            continue
        if len(number) <= 2 and 0 < int(number) <= 99:
            found.append(int(number))
    return found


def _subsequence(short: str, long: str) -> bool:
    letters = iter(long)
    return all(char in letters for char in short)


def sizes_like(guess: str, rim: int | None, sizes: list[str]) -> tuple[list[str], bool]:
    """Sizes in stock that digits heard for a size may have been ("2555" with R16 -> 205/55 R16:
    speech-to-text dropped "hundred"'s zero), the likeliest first, and whether they match
    exactly."""
    if rim is None and len(guess) >= 6 and 13 <= int(guess[-2:]) <= 22:
        guess, rim = guess[:-2], int(guess[-2:])
    if rim is None or not 3 <= len(guess) <= 5:
        return [], False
    scored: list[tuple[float, str]] = []
    for size in sizes:
        width_profile, size_rim = size.split(" R")
        if int(size_rim) != rim:
            continue
        digits = width_profile.replace("/", "")
        if guess == digits:
            scored.append((0, size))
        elif len(digits) - len(guess) == 1 and _subsequence(guess, digits):
            # A dropped "0" (two hundred *and* five) is the likeliest slip.
            missing = [d for i, d in enumerate(digits) if digits[:i] + digits[i + 1 :] == guess]
            scored.append((1 if "0" in missing else 1.5, size))
        elif (
            len(digits) == len(guess)
            and sum(a != b for a, b in zip(guess, digits, strict=True)) == 1
        ):
            scored.append((2, size))
    if not scored:
        return [], False
    best = min(score for score, _ in scored)
    return [size for score, size in sorted(scored) if score == best], best == 0


def corrected_size(digits: str) -> str:
    """ "195 65 15, ой, нет, 195 60 15", "sorry, I mean 215 60 16": the size said first is taken
    back, its digits dropped (nor are they a quantity); the size after the correction stands."""
    for marker in reversed(list(TAKEN_BACK.finditer(digits))):
        before, after = digits[: marker.start()], digits[marker.end() :]
        if parse_spoken_size(after) and (first := parse_spoken_size(before)):
            return without_size(before, first) + " " + after
    return digits


def without_size(text: str, size: TireSize | None) -> str:
    """The text without the size said in it, however its digits were grouped."""
    if size is None:
        return text
    digits = f"{size.width}{size.profile}{size.rim_diameter}"
    said = r"\D{0,10}?".join(digits)
    return re.sub(rf"(?<!\d){said}(?!\d)", " ", text, count=1)
