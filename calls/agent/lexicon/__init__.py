"""Word patterns by meaning, built from the per-language lexicons (uk, ru, en).

Callers mix languages (a Ukrainian caller's "так" may come back from speech-to-text as Russian
"да", a brand in Latin letters), so a meaning matches every language's words; the call's own
language is listed first where order matters (ordinals, name introductions).
"""

import re
from dataclasses import dataclass
from functools import cache

from . import en, ru, uk

LANGUAGES = {"uk": uk, "ru": ru, "en": en}
WORD = r"[^\W\d_]"


def words(*alternatives: str) -> re.Pattern:
    """Whole words or phrases (a word's trailing * allows any ending: Slavic words change
    theirs, "жив* людин*")."""

    def phrase(said: str) -> str:
        return r"\s+".join(
            re.escape(word[:-1]) + WORD + "*" if word.endswith("*") else re.escape(word)
            for word in said.split()
        )

    parts = sorted(phrase(a) for a in alternatives)
    parts.sort(key=len, reverse=True)  # the longest phrase wins ("не треба" before "не")
    return re.compile(rf"(?<!{WORD})(?:" + "|".join(parts) + rf")(?!{WORD})")


def _ordered(language: str) -> list:
    own = LANGUAGES.get(language, en)
    return [own, *(module for module in LANGUAGES.values() if module is not own)]


@cache
def pattern(meaning: str, language: str = "en") -> re.Pattern:
    found: list[str] = []
    for module in _ordered(language):
        found += module.WORDS.get(meaning, [])
    return words(*found)


@cache
def ordinals(language: str) -> dict[int, re.Pattern]:
    merged: dict[int, list[str]] = {}
    for module in _ordered(language):
        for place, said in module.ORDINALS.items():
            merged.setdefault(place, []).extend(said)
    return {place: words(*said) for place, said in merged.items()}


@cache
def _rim_ordinals() -> tuple[re.Pattern, dict[str, int]]:
    rims = {stem: rim for module in LANGUAGES.values() for stem, rim in module.RIM_ORDINALS.items()}
    stems = "|".join(sorted(map(re.escape, rims), key=len, reverse=True))
    # An ordinal's ending, never a cardinal's soft sign: "шістнадцятий", not "шістнадцять".
    return re.compile(rf"(?<!{WORD})({stems})(?!ь){WORD}+"), rims


def rims_as_digits(text: str) -> str:
    """ "на шістнадцятий радіус" -> "на r16 радіус"."""
    ordinal, rims = _rim_ordinals()
    return ordinal.sub(lambda match: f" r{rims[match[1]]} ", text)


@cache
def name_intro(language: str, weak: bool = False) -> re.Pattern:
    """ "my name is <name>", "мене звати <name>" (weak: "це <name>", "this is <name>")."""
    kind = "NAME_WEAK" if weak else "NAME_INTRO"
    intros = [intro for module in _ordered(language) for intro in getattr(module, kind)]
    intros.sort(key=len, reverse=True)
    return re.compile(
        rf"(?<!{WORD})(?:{'|'.join(intros)})(?!{WORD})\s*(?:is\s+|—\s*|-\s*|:\s*)?"
        rf"(?P<name>{WORD}[^\d,.!?;:]{{0,40}})"
    )


@cache
def not_names() -> tuple[frozenset[str], tuple[str, ...]]:
    """Words never taken for a name: every word of every lexicon (a stem allows any ending)."""
    whole: set[str] = set()
    stems: set[str] = set()
    for module in LANGUAGES.values():
        said = [w for ws in module.WORDS.values() for w in ws] + list(module.NOT_NAMES)
        said += [w for ws in module.ORDINALS.values() for w in ws]
        for phrase in said:
            for word in phrase.split():
                if word.endswith("*"):
                    stems.add(word[:-1])
                else:
                    whole.add(word)
    return frozenset(whole), tuple(sorted(stems))


def is_not_name(word: str) -> bool:
    whole, stems = not_names()
    return word in whole or word.startswith(stems)


def normalize(text: str) -> str:
    """Lower case, one apostrophe, "ё" as "е": how every pattern here is written."""
    text = text.lower().translate(str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"}))
    return text.replace("ё", "е")


# A plain yes to a read-back, for the LLM agent's check before it places an order: narrower than
# the rule-based agent's "yes" ("давайте", "беру" take an offer, they confirm no read-back).
CONFIRM_YES = words(
    "yes", "yeah", "yep", "yup", "correct", "right", "sure", "ok", "okay", "confirm*", "exactly",
    "так", "звісно", "авжеж", "правильно", "вірно", "добре", "підтверджую", "згоден", "згодна",
    "да", "верно", "конечно", "хорошо", "подтверждаю", "согласен", "согласна", "ага",
)  # fmt: skip
CONFIRM_NO = words(
    "no", "nope", "not", "wrong", "don't", "dont", "cancel", "ні", "не", "нема", "неправильно",
    "скасуй*", "нет", "неверно", "отмен*",
)  # fmt: skip


@dataclass(frozen=True)
class Heard:
    """A plain yes/no reading of one utterance (the LLM agent's confirmation check)."""

    text: str

    @property
    def yes(self) -> bool:
        lower = normalize(self.text)
        return bool(CONFIRM_YES.search(lower)) and not CONFIRM_NO.search(lower)
