"""Catalog rules used by the bot, the admin and imports: reading tire sizes and finding tires."""

import itertools
import re
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .models import Brand


class TireSize(NamedTuple):
    width: int
    profile: int
    rim_diameter: int

    def __str__(self) -> str:
        return f"{self.width}/{self.profile} R{self.rim_diameter}"


# "205/55 R16", "205/55R16", "205 55 16", "205/55/16", "205/55 ZR16", Cyrillic "Р" too.
_WRITTEN_SIZE = re.compile(
    r"\s*(?P<width>\d{3})\s*[/\s]\s*(?P<profile>\d{2})\s*(?:[/\s]|Z?[RrРр])?\s*"
    r"(?:Z?[RrРр])?\s*(?P<rim>\d{2})\s*[CcСс]?\s*"
)


def parse_written_size(text: str) -> TireSize | None:
    """Read a size as it is printed on a sidewall or typed by staff; None if it is not one."""
    match = _WRITTEN_SIZE.fullmatch(text)
    if not match:
        return None
    return TireSize(int(match["width"]), int(match["profile"]), int(match["rim"]))


# --- Sizes as callers say them and as speech-to-text writes them --------------------------------

# "205/55 R16", "205-55 r16", "205 55 R 16", "205, 55, r 16" anywhere in a sentence; a stray
# letter before the profile ("205, M55 R16") is a speech-to-text slip, not a different size.
_SIZE_IN_TEXT = re.compile(
    r"(?<!\d)(?P<width>\d{3})\s*[/\\,.\s-]\s*(?:[^\W\d_]\s*)?(?P<profile>\d{2})\s*[,.]?\s*(?:z?[rр]\s*)?"
    r"(?P<rim>\d{2})(?!\d)"
)
_RIM_IN_TEXT = re.compile(
    r"(?:\bz?[rр]\s*(?P<rim>\d{2})(?!\d))|(?:(?P<rim2>\d{2})\s*(?:inch|дюйм|радіус|радиус))|"
    r"(?:(?:радіус|радиус|diameter|rim)\D{0,12}?(?P<rim3>\d{2})(?!\d))"
)


def plausible_size(size: TireSize) -> bool:
    """A size a passenger car, SUV or van tire can have (what the catalog's validators allow)."""
    return (
        105 <= size.width <= 395
        and size.width % 5 == 0
        and 20 <= size.profile <= 95
        and size.profile % 5 == 0
        and 10 <= size.rim_diameter <= 24
    )


# Words people (or speech-to-text) put between the parts of a size: "205 and 55", "205 by 55 R16",
# "205 на 55", "205 дробь 55".
_SIZE_CONNECTOR = re.compile(
    r"(?<=\d)\s*\b(?:and|by|on|over|slash|x|і|й|и|на|дріб|дробь|слеш)\b\s*(?=[\drр])", re.IGNORECASE
)


# "Two hundred five" written by speech-to-text as "2 105" or "to 105" (the "hundred five" as one
# number, the "two" as its homophone): a width below any tire's (100-124) right after a lone 2
# or 3 and before a profile.
_SPLIT_HUNDREDS = re.compile(
    r"(?<![\d.,])\b(?P<hundreds>[23]|(?i:to|too))[\s,]+(?P<rest>1[0-2]\d)"
    r"(?=\s*[/\\,.\s-]\s*(?:[^\W\d_]\s*)?\d{2}(?!\d))"
)


def join_split_hundreds(text: str) -> str:
    """ "2 105 55 R16", "to 105 55 R16" -> "205 55 R16": a width speech-to-text split after its
    hundreds."""

    def joined(match: re.Match) -> str:
        rest = int(match["rest"])
        if rest >= 125:  # "2 195 65 R15" is two tires of 195/65 R15
            return match[0]
        hundreds = int(match["hundreds"]) if match["hundreds"].isdigit() else 2
        return str(hundreds * 100 + rest - 100)

    return _SPLIT_HUNDREDS.sub(joined, text)


def parse_spoken_size(text: str) -> TireSize | None:
    """Find a tire size in what a caller said: digits as STT writes them or spoken numbers in
    English, Ukrainian or Russian ("one ninety five sixty five fifteen")."""
    from .spoken import words_to_digits

    normalized = join_split_hundreds(_SIZE_CONNECTOR.sub(" ", words_to_digits(text)))
    for match in _SIZE_IN_TEXT.finditer(normalized):
        size = TireSize(int(match["width"]), int(match["profile"]), int(match["rim"]))
        if plausible_size(size):
            return size
    # Digits said in pieces ("1 95 65 15", "20555 r 16"): seven digits in a row of numbers.
    for run in re.findall(r"\d[\d\s,.rр/-]*\d", normalized):
        digits = re.sub(r"\D", "", run)
        for start in range(len(digits) - 6):
            chunk = digits[start : start + 7]
            size = TireSize(int(chunk[:3]), int(chunk[3:5]), int(chunk[5:]))
            if plausible_size(size):
                return size
    return None


def parse_size_after_rim(text: str, rim: int) -> TireSize | None:
    """The size of a caller who named the rim first ("R17, 225 45", "17 дюймов, 225 на 45",
    "seventeen inch, two twenty five forty five"): a width and a profile said on their own
    after it, not digits inside a longer run (a phone number's "125 45" is not a size)."""
    from .spoken import words_to_digits

    normalized = _SIZE_CONNECTOR.sub(" ", words_to_digits(text))
    for run in re.finditer(r"\d+(?:[\s,./-]+\d+)*", normalized):
        groups = re.findall(r"\d+", run[0])
        if len(groups) > 1 and int(groups[0]) == rim:
            groups = groups[1:]  # "r17 225 45" as one run
        said = "".join(groups)  # "2 25 45": "two twenty five forty five"
        if len(said) == 5:
            size = TireSize(int(said[:3]), int(said[3:]), rim)
            if plausible_size(size):
                return size
    return None


def parse_rim(text: str) -> int | None:
    """A rim diameter said on its own: "R17", "seventeen inch", "радіус 17"."""
    from .spoken import words_to_digits

    for match in _RIM_IN_TEXT.finditer(words_to_digits(text)):
        rim = int(match["rim"] or match["rim2"] or match["rim3"])
        if 10 <= rim <= 24:
            return rim
    return None


# --- Brands, heard fuzzily -----------------------------------------------------------------------


def match_brand(text: str, brands=None, cutoff: float = 82) -> "Brand | None":
    """The brand a caller named, allowing for how speech-to-text spells it ("Michelin",
    "Мішлен", "Nokia" for Nokian). Compares each word and word pair with names and aliases."""
    from rapidfuzz import fuzz, process

    from .models import Brand

    brands = list(brands if brands is not None else Brand.objects.all())
    choices: dict[str, Brand] = {}
    for brand in brands:
        for spelling in [brand.name, *brand.alias_list]:
            choices[spelling.lower()] = brand
    words = re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)?", text.lower())
    candidates = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    best: tuple[float, Brand] | None = None
    for candidate in candidates:
        if len(candidate) < 3:
            continue
        found = process.extractOne(
            candidate, choices.keys(), scorer=fuzz.ratio, score_cutoff=cutoff
        )
        if found and (best is None or found[1] > best[0]):
            best = (found[1], choices[found[0]])
    return best[1] if best else None


# --- Search --------------------------------------------------------------------------------------


def search_tires(
    *,
    size: TireSize | None = None,
    rim_diameter: int | None = None,
    season: str | None = None,
    brand_id: int | None = None,
    studded: bool | None = None,
    min_price=None,
    max_price=None,
    include_out_of_stock: bool = False,
    limit: int = 3,
):
    """Tires that fit what the caller asked, best first: in stock (unless asked otherwise),
    the asked brand, the cheapest; enough stock for a set of four ranks above a last few."""
    from django.db.models import Case, IntegerField, Value, When

    from .models import Tire

    tires = Tire.objects.filter(is_active=True).select_related("brand")
    if not include_out_of_stock:
        tires = tires.filter(stock_quantity__gt=0)
    if size is not None:
        tires = tires.of_size(*size)
    elif rim_diameter is not None:
        tires = tires.filter(rim_diameter=rim_diameter)
    if season:
        tires = tires.filter(season=season)
    if brand_id is not None:
        tires = tires.filter(brand_id=brand_id)
    if studded is not None:
        tires = tires.filter(studded=studded)
    if min_price is not None:
        tires = tires.filter(price__gte=min_price)
    if max_price is not None:
        tires = tires.filter(price__lte=max_price)
    tires = tires.annotate(
        full_set=Case(
            When(stock_quantity__gte=4, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    )
    return list(tires.order_by("full_set", "price", "brand__name", "model", "pk")[:limit])
