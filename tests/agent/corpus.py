"""The dialogue corpus: loads the caller dialogues of tests/agent/dialogues/*.yaml, checks their
form, and judges what a call left in the database against what the dialogue expects.

A file holds `dialogues:`, a list of entries such as:

    - id: uk-order-irpin-delivery
      language: uk                      # uk, ru or en
      caller_number: "+380671234567"    # optional, as the dialplan hands it over
      languages: [uk, ru]               # optional: the shop's CALL_LANGUAGES (default: language)
      rules_only: true                  # optional: the rule-based agent's own answers (asides,
                                        # catalog answers), left out of the LLM corpus
      note: several facts in one breath, delivery address in the same sentence
      turns:
        - say: мені зимові двісті п'ять п'ятдесят п'ять r16 четири штуки
        - keys: "0671234567"            # digits keyed on the phone
        - say: а доставка скільки коштує
          question: true                # the caller asks; the bot answers and goes on
          reply_mentions_any: [достав]  # checked loosely, only where it is essential
      expect:                           # exactly one of order, status_told, transfer, no_order
        order: {size: 205/55 R16, season: winter, quantity: 4, name: Петро,
                phone: "+380671234567", fulfilment: delivery, address_contains: [ірпін, соборн]}
      given_orders:                     # optional: orders that exist before the call
        - {number: "104512", size: 205/55 R16, season: winter, quantity: 4,
           phone: "+380671234567", status: confirmed}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DIALOGUES_DIR = Path(__file__).parent / "dialogues"
LANGUAGES = ("uk", "ru", "en")
SEASONS = ("summer", "winter", "all_season")
SIZE = re.compile(r"^(\d{3})/(\d{2}) R(\d{2})$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ORDER_KEYS = {
    "size", "season", "studded", "brand", "model", "quantity", "name", "phone", "fulfilment",
    "address_contains",
}  # fmt: skip
ORDER_REQUIRED = {"size", "quantity", "name", "phone", "fulfilment"}
GIVEN_KEYS = {"number", "size", "season", "brand", "quantity", "name", "phone", "status"}
OUTCOMES = ("order", "status_told", "transfer", "no_order")
TURN_KEYS = {"say", "keys", "question", "reply_mentions_any"}

# How the bot may word an order's status, per language (stems, lower case): a status answer
# must name the status the order really has.
STATUS_WORDS = {
    "new": {
        "uk": ["нов", "прийнят", "оброб", "оформлен"],
        "ru": ["нов", "принят", "обраб", "оформлен"],
        "en": ["new", "received", "processing", "placed"],
    },
    "confirmed": {"uk": ["підтвердж"], "ru": ["подтвержд"], "en": ["confirm"]},
    "completed": {
        "uk": ["викона", "заверш", "готов", "видан"],
        "ru": ["выполн", "заверш", "готов", "выдан"],
        "en": ["complet", "done", "fulfil", "ready"],
    },
    "cancelled": {"uk": ["скасов"], "ru": ["отмен"], "en": ["cancel"]},
}


class CorpusError(ValueError):
    """A dialogue file that does not follow the format: which file, which dialogue, what."""


@dataclass(frozen=True)
class Turn:
    text: str
    keyed: bool = False
    question: bool = False
    reply_mentions_any: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dialogue:
    id: str
    language: str
    note: str
    turns: tuple[Turn, ...]
    expect: dict
    caller_number: str = ""
    given_orders: tuple[dict, ...] = ()
    source: str = ""
    languages: tuple[str, ...] = ()  # the shop's languages; none given: the dialogue's alone
    rules_only: bool = False  # shows the rule-based agent's own answers: no LLM corpus dialogue

    @property
    def shop_languages(self) -> tuple[str, ...]:
        return self.languages or (self.language,)

    @property
    def outcome(self) -> str:
        return next(iter(self.expect))


class _StrictLoader(yaml.SafeLoader):
    """YAML that refuses a key said twice in one mapping (PyYAML keeps the last, silently)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        twice = {key for key in keys if keys.count(key) > 1}
        if twice:
            raise CorpusError(f"line {node.start_mark.line + 1}: keys {sorted(twice)} said twice")
        return super().construct_mapping(node, deep=deep)


# A caller's "yes", "no", "on" or "off" stays words: only true and false are booleans here.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf")
)


def load_dialogues(directory: Path = DIALOGUES_DIR) -> list[Dialogue]:
    """Every dialogue of every YAML file in the directory, checked; ids are unique."""
    dialogues: list[Dialogue] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader) or {}  # noqa: S506
        except (yaml.YAMLError, CorpusError) as error:
            raise CorpusError(f"{path.name}: {error}") from error
        for raw in data.get("dialogues") or []:
            dialogue = _parse(raw, path.name)
            if dialogue.id in seen:
                raise CorpusError(f"{path.name}: id {dialogue.id!r} is also in {seen[dialogue.id]}")
            seen[dialogue.id] = path.name
            dialogues.append(dialogue)
    return dialogues


def _parse(raw: dict, source: str) -> Dialogue:
    where = f"{source}: {raw.get('id', '?')}"
    unknown = set(raw) - {"id", "language", "caller_number", "note", "turns", "expect",
                          "given_orders", "languages", "rules_only"}  # fmt: skip
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)}")
    if raw.get("language") not in LANGUAGES:
        raise CorpusError(f"{where}: language must be one of {LANGUAGES}")
    languages = tuple(raw.get("languages") or ())
    if languages and (set(languages) - set(LANGUAGES) or raw["language"] not in languages):
        raise CorpusError(f"{where}: languages are some of {LANGUAGES}, the dialogue's among them")
    turns = tuple(_parse_turn(turn, where) for turn in raw.get("turns") or [])
    if not turns:
        raise CorpusError(f"{where}: no turns")
    expect = raw.get("expect") or {}
    if len(expect) != 1 or next(iter(expect)) not in OUTCOMES:
        raise CorpusError(f"{where}: expect needs exactly one of {OUTCOMES}")
    if "order" in expect:
        _check_order(expect["order"], where)
    given = tuple(raw.get("given_orders") or [])
    for order in given:
        if set(order) - GIVEN_KEYS or "number" not in order or "size" not in order:
            raise CorpusError(f"{where}: a given order needs number and size, keys {GIVEN_KEYS}")
    if "status_told" in expect and str(expect["status_told"]) not in {
        str(order["number"]) for order in given
    }:
        raise CorpusError(f"{where}: status_told names an order that is not in given_orders")
    return Dialogue(
        id=str(raw["id"]),
        language=raw["language"],
        note=str(raw.get("note", "")),
        turns=turns,
        expect=expect,
        caller_number=str(raw.get("caller_number") or ""),
        given_orders=given,
        source=source,
        languages=languages,
        rules_only=raw.get("rules_only") is True,
    )


def _parse_turn(raw: dict, where: str) -> Turn:
    if not isinstance(raw, dict) or set(raw) - TURN_KEYS or ("say" in raw) == ("keys" in raw):
        raise CorpusError(f"{where}: a turn is say: or keys: (plus question, reply_mentions_any)")
    mentions = raw.get("reply_mentions_any") or []
    if "keys" in raw:
        digits = str(raw["keys"])
        if not re.fullmatch(r"[0-9*]+", digits):
            raise CorpusError(f"{where}: keys must be digits, got {digits!r}")
        return Turn(digits, keyed=True, reply_mentions_any=tuple(mentions))
    if not isinstance(raw["say"], str):
        raise CorpusError(f"{where}: say {raw['say']!r} must be text (quote digits)")
    return Turn(
        raw["say"],
        question=bool(raw.get("question")),
        reply_mentions_any=tuple(str(word) for word in mentions),
    )


def _check_order(order: dict, where: str) -> None:
    if set(order) - ORDER_KEYS or ORDER_REQUIRED - set(order):
        raise CorpusError(f"{where}: an order needs {sorted(ORDER_REQUIRED)}, may have the rest "
                          f"of {sorted(ORDER_KEYS)}")  # fmt: skip
    if not SIZE.match(str(order["size"])):
        raise CorpusError(f"{where}: size is written like 205/55 R16")
    if order.get("season") not in (None, *SEASONS):
        raise CorpusError(f"{where}: season must be one of {SEASONS}")
    if not E164.match(str(order["phone"])):
        raise CorpusError(f"{where}: phone must be E.164, like +380671234567")
    if order["fulfilment"] not in ("pickup", "delivery"):
        raise CorpusError(f"{where}: fulfilment is pickup or delivery")
    if (order["fulfilment"] == "delivery") != bool(order.get("address_contains")):
        raise CorpusError(f"{where}: address_contains goes with delivery, and only with it")


def address_parts(order: dict) -> list[str]:
    parts = order.get("address_contains") or []
    return [parts] if isinstance(parts, str) else list(parts)


def order_mismatches(expected: dict, order) -> list[str]:
    """What in a placed Order (with one item) differs from the expected order; [] if nothing."""
    items = list(order.items.select_related("tire__brand"))
    if len(items) != 1:
        return [f"{len(items)} order lines, expected 1"]
    item = items[0]
    tire = item.tire
    problems = []
    size = f"{tire.width}/{tire.profile} R{tire.rim_diameter}"
    if size != expected["size"]:
        problems.append(f"size {size}, expected {expected['size']}")
    if "season" in expected and tire.season != expected["season"]:
        problems.append(f"season {tire.season}, expected {expected['season']}")
    if "studded" in expected and tire.studded != expected["studded"]:
        problems.append(f"studded {tire.studded}, expected {expected['studded']}")
    if "brand" in expected and tire.brand.name.lower() != str(expected["brand"]).lower():
        problems.append(f"brand {tire.brand.name}, expected {expected['brand']}")
    if "model" in expected and tire.model.lower() != str(expected["model"]).lower():
        problems.append(f"model {tire.model}, expected {expected['model']}")
    if item.quantity != expected["quantity"]:
        problems.append(f"quantity {item.quantity}, expected {expected['quantity']}")
    if str(expected["name"]).lower() not in order.customer_name.lower():
        problems.append(f"name {order.customer_name!r}, expected {expected['name']!r}")
    if order.customer_phone != expected["phone"]:
        problems.append(f"phone {order.customer_phone}, expected {expected['phone']}")
    if order.fulfilment != expected["fulfilment"]:
        problems.append(f"fulfilment {order.fulfilment}, expected {expected['fulfilment']}")
    address = order.delivery_address.lower()
    missing = [part for part in address_parts(expected) if str(part).lower() not in address]
    if missing:
        problems.append(f"address {order.delivery_address!r} lacks {missing}")
    return problems


def mentions_any(text: str, words: list[str] | tuple[str, ...]) -> bool:
    """Loosely: a word (or price) in the reply, whatever the case or the digit grouping."""
    lowered = text.lower()
    joined = re.sub(r"(?<=\d)[\s\u00a0\u202f.,](?=\d{3}\b)", "", lowered)
    return any(str(word).lower() in lowered or str(word).lower() in joined for word in words)


@dataclass
class Result:
    """One dialogue's run, for the per-language table."""

    dialogue_id: str
    language: str
    verdict: str  # passed, failed, wrong
    turns: int
    repeated: int
    problems: list[str] = field(default_factory=list)
