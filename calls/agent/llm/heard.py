"""What the understanding layer read in the caller's words, for the LLM agent: a short note the
model gets with each utterance (a size resolved against the sizes in stock, a validated phone,
the offer picked, a yes or a correction), a size the model passes resolved the same way, and
whether the words are a plain yes to a read-back."""

from collections.abc import Sequence
from dataclasses import dataclass

from catalog import services as catalog

from .. import lexicon, tools
from ..heard_numbers import sizes_like
from ..understanding import Heard, understand
from .readback import ReadBack


@dataclass(frozen=True)
class SizeFound:
    size: str = ""  # the size to search, "205/55 R16"
    rim: int | None = None  # a rim alone ("R17")
    candidates: tuple[str, ...] = ()  # sizes in stock it may have been, when not one
    resolved_from: str = ""  # the words it was resolved from, when they were not the size
    not_in_stock: str = ""  # a whole size heard that the candidates are near to


def resolve_size(said: str, language: str, asked: Sequence[str] = ()) -> SizeFound:
    """A size as the caller or the model wrote it, matched to the sizes the catalog has: "2555
    R16" (Whisper for "two hundred five, fifty five, R sixteen") is 205/55 R16; a whole size
    that no tire in stock has, a digit away from one that some have ("двести пять" heard as 255),
    is asked about, unless it was already (`asked`): then it stands (sync: ORM)."""
    parsed = catalog.parse_written_size(said) or catalog.parse_spoken_size(said)
    heard = None if parsed else understand(said, language, "size")
    whole = str(parsed or heard.size or "")
    if whole:
        return _near(whole) if whole not in asked else SizeFound(whole)
    if heard.size_guess:
        found, exact = sizes_like(heard.size_guess, heard.rim, tools.sizes_in_stock())
        if found and (exact or len(found) == 1):
            return SizeFound(found[0], resolved_from=said)
        if found:
            return SizeFound(candidates=tuple(found[:3]))
    return SizeFound(rim=heard.rim or catalog.parse_rim(said))


def _near(size: str) -> SizeFound:
    """The size, or the sizes in stock it may have been when the shop has none of it."""
    stock = tools.sizes_in_stock()
    if size in stock:
        return SizeFound(size)
    width_profile, rim = size.split(" R")
    near, _ = sizes_like(width_profile.replace("/", ""), int(rim), stock)
    return SizeFound(candidates=tuple(near[:3]), not_in_stock=size) if near else SizeFound(size)


def note(heard: Heard, language: str, offers: list[dict], read_back: ReadBack | None) -> str:
    """The slots understood, in plain words for the model ("" when nothing was)."""
    said = []
    if heard.size:
        said.append(f"size {heard.size}")
    elif heard.size_guess:
        found = resolve_size(heard.text, language)
        if found.size:
            said.append(f"size {found.size} (the nearest in stock to what was heard)")
        elif found.candidates:
            said.append(f"a size, maybe {' or '.join(found.candidates)}: ask which")
        elif not heard.rim and len(heard.size_guess) == 5:
            guess = heard.size_guess
            said.append(f"width and profile {guess[:3]}/{guess[3:]}, no rim")
    if heard.rim and not heard.size:
        said.append(f"rim R{heard.rim}")
    if heard.season:
        said.append("any season" if heard.season == "any" else f"season {heard.season}")
    if heard.studded is not None:
        said.append("studded" if heard.studded else "not studded")
    if heard.brand:
        said.append(f"brand {heard.brand}")
    if heard.choice and heard.choice <= len(offers):
        offer = offers[heard.choice - 1]
        said.append(f"picks offer {heard.choice}: {offer['brand']} {offer['model']} "
                    f"(SKU {offer['sku']})")  # fmt: skip
    if heard.cheapest:
        said.append("the cheapest")
    if heard.quantity:
        said.append(f"quantity {heard.quantity}")
    if heard.name:
        said.append(f"name {heard.name}")
    if heard.phone:
        said.append(f"phone {heard.phone} (valid)")
    elif heard.phone_tried:
        said.append("phone digits that are not a valid number: ask again, or offer the keypad")
    if heard.fulfilment:
        said.append(heard.fulfilment)
    if heard.address:
        said.append(f"address {heard.address}")
    if heard.order_number:
        said.append(f"order number {heard.order_number}")
    flags = {
        "operator": "asks for an operator", "cancel": "cancels", "correction": "corrects",
        "status": "asks about an order", "farewell": "says goodbye",
    }  # fmt: skip
    said += [words for flag, words in flags.items() if getattr(heard, flag)]
    if heard.fields:
        said.append("names " + ", ".join(sorted(heard.fields)))
    if heard.question:
        said.append(f"asks about {heard.question}")
    if read_back is not None:
        if read_back.yes_turn is not None:
            said.append("a plain yes to the read-back: create_order with exactly its values")
        else:
            said.append("not a plain yes to the read-back: it no longer stands")
        if heard.no:
            said.append("no")
    elif heard.yes:
        said.append("yes")
    elif heard.no:
        said.append("no")
    return "; ".join(said)


def plain_yes(heard: Heard, read_back: ReadBack, offers: Sequence[dict] = ()) -> bool:
    """A yes to the read-back and nothing that changes it: "yes, but the phone is ..." or "yes,
    two" (when four were read back) are no yes to those values."""
    if not (lexicon.Heard(heard.text).yes and heard.yes):
        return False
    if heard.no or heard.correction or heard.cancel or heard.fields or heard.address_named:
        return False
    quantities = {quantity for _, quantity in read_back.items}
    if heard.quantity is not None and heard.quantity not in quantities:
        return False
    if heard.phone and heard.phone != read_back.phone:
        return False
    if heard.search:
        return False
    skus = {sku for sku, _ in read_back.items}
    if heard.choice and offers[heard.choice - 1]["sku"] not in skus:
        return False  # "yes, the Ventus": another tire than the one read back
    return not (heard.address and heard.address.casefold() != read_back.address.casefold())
