"""The call's language among the shop's: taken from what the caller says, switched on request.

A call starts in the shop's first language (the greeting's). Each utterance is evidence: the
speech-to-text engine's acoustic detection among the allowed languages (Whisper's language
probabilities; Google's or an OpenAI-compatible server's detected language) and the words
themselves (letters only one language has: і ї є ґ / ы э ъ ё; words of one language's lexicon).
A short utterance ("так", "да", "алло") weighs little, so it never flips a call alone. The first
clear utterance settles the call's language (before it, single words only one language has add
up: "Четыре", "Самовывоз"); after that a caller who goes on in another language for two clear
utterances in a row is followed, and mixed speech (surzhyk) stays in the language the caller
mostly uses. A request ("можна російською?", "говорите по-русски?", "in English
please") switches at once. Nothing here ever picks a language outside the allowed set.

Pure: no Django, no I/O; the conversation applies the decision to the call.
"""

import re
from dataclasses import dataclass
from functools import cache

from .agent.lexicon import LANGUAGES as LEXICONS
from .agent.lexicon import WORD, words

LETTERS = {"uk": frozenset("іїєґ"), "ru": frozenset("ыэъё")}
# Frequent words the shop lexicons lack, spelt differently in Ukrainian and Russian.
COMMON = {
    "uk": ["що", "це", "мені", "мене", "потрібні", "потрібно", "будь ласка", "дякую", "добрий",
           "вітаю", "можна", "хочу", "маю", "у вас", "скажіть", "підкажіть", "чи", "шини", "так"],
    "ru": ["что", "это", "мне", "меня", "нужны", "нужно", "пожалуйста", "спасибо", "добрый",
           "здравствуйте", "можно", "хочу", "есть", "у вас", "скажите", "подскажите", "ли", "шины",
           "да"],
    "en": ["i", "the", "a", "to", "my", "need", "want", "please", "thank", "you", "hello", "is",
           "it", "tires", "tyres", "yes", "no", "what", "how"],
}  # fmt: skip

# Naming a language to speak it: "російською", "по-русски", "на русском", "in English". Only the
# forms that name a language of speech: "украинские шины", "російські шини", "шины украинского
# производства" name where tires are made, and a caller asking for them is not asking to switch.
LANGUAGE_NAMES = {
    "uk": ["українською", "по-українськи", "по-українському", "на українській", "українська мова",
           "українську мову", "по-украински", "на украинском", "украинский", "украинский язык",
           "украинском языке", "ukrainian"],
    "ru": ["російською", "по-російськи", "по-російському", "на російській", "російська мова",
           "російську мову", "по-русски", "на русском", "русский", "русский язык",
           "русском языке", "russian"],
    "en": ["англійською", "по-англійськи", "на англійській", "англійська мова", "англійську мову",
           "по-английски", "на английском", "английский", "английском языке", "english"],
}  # fmt: skip
# Forms that name a language only right after "не розумію", "не понимаю": "не понимаю
# украинского", "не знаю української".
NOT_UNDERSTOOD_NAMES = {
    "uk": ["українську", "української", "украинского"],
    "ru": ["російську", "російської", "русского"],
    "en": ["англійську", "англійської", "английского"],
}
# "Не розумію українською", "I don't speak Russian": the caller asks for another language.
NOT_UNDERSTOOD = words(
    "не розумію", "не розмовляю", "не говорю", "не знаю", "не понимаю", "не разговариваю",
    "don't understand", "dont understand", "do not understand", "don't speak", "dont speak",
    "do not speak", "can't understand", "cannot understand", "can't speak",
)  # fmt: skip
# Words between "не понимаю" and the language it governs ("не понимаю по-украински", "I don't
# speak any Russian"); a comma or more words and the language named is the one asked for ("не
# понимаю, можно по-русски?").
NOT_UNDERSTOOD_GAP = 2
MAX_REQUEST_WORDS = 8  # a longer utterance that names a language talks about something else

UTTERANCE_WORDS = 3  # an utterance of fewer words weighs less, in proportion
FULL_SECONDS = 1.5  # acoustic evidence of a shorter utterance weighs less, in proportion
CLEAR = 1.0  # how far ahead the utterance's language must be for it to count as clear
CLEAR_IN_A_ROW = 2  # clear utterances in another language that move a settled call
# Before the call is settled, utterances at least half clear add up: a caller who answers in
# single words ("Четыре", "Самовывоз") is followed at the second. "Так", "да", "алло", "нет" are
# said by callers of both languages and weigh less: they never add up.
LEANING = CLEAR / 2


def _word_set(phrases: list[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    whole, stems = set(), set()
    for phrase in phrases:
        for word in phrase.split():
            (stems.add(word[:-1]) if word.endswith("*") else whole.add(word))
    return frozenset(whole), tuple(sorted(stems))


@cache
def vocabulary(language: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """Words (and stems) of one language: its lexicon and its common words."""
    module = LEXICONS[language]
    phrases = [p for said in module.WORDS.values() for p in said] + COMMON.get(language, [])
    return _word_set(phrases)


def _known(word: str, language: str) -> bool:
    whole, stems = vocabulary(language)
    return word in whole or (len(word) > 3 and word.startswith(stems))


def text_scores(text: str, allowed: tuple[str, ...]) -> tuple[dict[str, float], float]:
    """How much the words say for each allowed language (a share of 1 each) and how much they
    say at all (hits: letters of one language, words known to one language only)."""
    lower = text.lower().replace("’", "'")
    hits = dict.fromkeys(allowed, 0.0)
    for code in allowed:
        letters = LETTERS.get(code)
        if letters:
            hits[code] += sum(1 for char in lower if char in letters)
    for word in re.findall(rf"{WORD}[\w'-]*", lower):
        latin = word.isascii()
        knowing = [code for code in allowed if (code == "en") == latin and _known(word, code)]
        if len(knowing) == 1:
            hits[knowing[0]] += 1.0
    total = sum(hits.values())
    if not total:
        return {code: 1 / len(allowed) for code in allowed}, 0.0
    return {code: hits[code] / total for code in allowed}, total


def requested_language(text: str, current: str, allowed: tuple[str, ...]) -> str | None:
    """The language the caller asks for ("можна російською?", "in English please"), if it is
    allowed (the call's own included: "говорите по-русски?" on a call in Russian); "I don't
    understand Ukrainian" asks for another allowed one."""
    lower = text.lower()
    if len(lower.split()) > MAX_REQUEST_WORDS:
        return None
    for code in allowed:
        named = _name_pattern(code).search(lower)
        refused = named is not None and _refuses(lower, named.start())
        if named is None:
            named = _name_pattern(code, not_understood=True).search(lower)
            refused = named is not None and _refuses(lower, named.start())
            if not refused:
                continue
        if refused:
            # "I don't understand Ukrainian": the other allowed language the words are in.
            others = tuple(other for other in allowed if other != code)
            if code != current or not others:
                return None
            shares, _ = text_scores(text, others)
            return max(others, key=lambda other: (shares[other], -others.index(other)))
        return code
    return None


def unspoken_language(text: str, allowed: tuple[str, ...]) -> str | None:
    """The language the caller asks for that the shop does not speak ("Do you speak English?",
    "А можно на английском?" in a shop of Ukrainian and Russian), or None; the agent answers it
    with the languages the shop speaks. Named the same way as a request for an allowed one."""
    lower = text.lower()
    if len(lower.split()) > MAX_REQUEST_WORDS or requested_language(text, allowed[0], allowed):
        return None
    for code in LANGUAGE_NAMES:
        if code in allowed:
            continue
        named = _name_pattern(code).search(lower)
        if named and not _refuses(lower, named.start()):
            return code
    return None


def _refuses(lower: str, named_at: int) -> bool:
    """Whether "не понимаю", "I don't speak" governs the language named at `named_at`."""
    for said in NOT_UNDERSTOOD.finditer(lower[:named_at]):
        between = lower[said.end() : named_at]
        if not re.search(r"[,.!?;:]", between) and len(between.split()) <= NOT_UNDERSTOOD_GAP:
            return True
    return False


@cache
def _name_pattern(code: str, *, not_understood: bool = False) -> re.Pattern:
    return words(*(NOT_UNDERSTOOD_NAMES if not_understood else LANGUAGE_NAMES)[code])


@dataclass(frozen=True)
class Evidence:
    """One utterance's say: a score per allowed language, the best one and by how much."""

    scores: dict[str, float]
    language: str
    lead: float

    @property
    def clear(self) -> bool:
        return self.lead >= CLEAR


def evidence(
    text: str,
    allowed: tuple[str, ...],
    *,
    heard_as: str | None = None,
    probs: dict[str, float] | None = None,
    seconds: float = 0.0,
) -> Evidence:
    """Acoustic and text evidence of one utterance, added up: each gives up to ±1 a language
    (its share above an even split), weighed by how sure it is; the sum is weighed by the
    utterance's length in words, so "да" alone says little."""
    even = 1 / len(allowed)
    scale = len(allowed) / (len(allowed) - 1) if len(allowed) > 1 else 1.0
    scores = dict.fromkeys(allowed, 0.0)
    if probs:
        mass = sum(probs.get(code, 0.0) for code in allowed)
        if mass > 0:
            weight = min(1.0, mass) * min(1.0, seconds / FULL_SECONDS)
            for code in allowed:
                scores[code] += weight * (probs.get(code, 0.0) / mass - even) * scale
    elif heard_as in allowed:
        # An engine that names the language it detected but gives no probability.
        for code in allowed:
            scores[code] += 0.8 * ((1.0 if code == heard_as else 0.0) - even) * scale
    shares, strength = text_scores(text, allowed)
    weight = min(1.0, strength / 2)
    for code in allowed:
        scores[code] += weight * (shares[code] - even) * scale
    length = min(1.0, len(text.split()) / UTTERANCE_WORDS)
    scores = {code: round(score * length, 3) for code, score in scores.items()}
    ranked = sorted(allowed, key=lambda code: (-scores[code], allowed.index(code)))
    lead = scores[ranked[0]] - scores[ranked[1]] if len(ranked) > 1 else 0.0
    return Evidence(scores, ranked[0], round(lead, 3))


@dataclass(frozen=True)
class Decision:
    language: str
    changed: bool = False
    requested: bool = False  # the caller asked for it (perhaps the language it is already in)


class CallLanguage:
    """One call's language and what it has heard so far."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        if not allowed:
            raise ValueError("a call needs at least one language")
        self.allowed = tuple(allowed)
        self.language = self.allowed[0]
        self.settled = len(self.allowed) == 1
        self._run: list[str] = []  # clear utterances in a row in another language
        self._leaning = dict.fromkeys(self.allowed, 0.0)  # half-clear ones, added up

    @property
    def detect(self) -> tuple[str, ...]:
        """What the speech-to-text engine is asked to choose among (nothing: one language)."""
        return self.allowed if len(self.allowed) > 1 else ()

    def hear(
        self,
        text: str,
        *,
        heard_as: str | None = None,
        probs: dict[str, float] | None = None,
        seconds: float = 0.0,
    ) -> Decision:
        """The call's language after one utterance of the caller's."""
        if len(self.allowed) == 1 or not text.strip():
            return Decision(self.language)
        if requested := requested_language(text, self.language, self.allowed):
            if requested == self.language:
                # Asked for the language the call is in: said so, and the question again.
                self.settled = True
                self._run.clear()
                return Decision(self.language, requested=True)
            return self._switch(requested, requested=True)
        said = evidence(text, self.allowed, heard_as=heard_as, probs=probs, seconds=seconds)
        if not said.clear:
            return self._lean(said, text)
        if said.language == self.language:
            self.settled = True
            self._run.clear()
            return Decision(self.language)
        if not self.settled:
            return self._switch(said.language)
        self._run = (
            [*self._run, said.language] if self._run[-1:] == [said.language] else [said.language]
        )
        if len(self._run) >= CLEAR_IN_A_ROW:
            return self._switch(said.language)
        return Decision(self.language)

    def _lean(self, said: Evidence, text: str) -> Decision:
        """An unclear utterance: on an unsettled call, one at least half clear, by its words too
        (Whisper is sure "да" is Russian, and Ukrainian callers say it), is added to the others;
        together they settle the call once they are clear."""
        if self.settled or said.lead < LEANING or evidence(text, self.allowed).lead < LEANING:
            return Decision(self.language)
        for code, score in said.scores.items():
            self._leaning[code] += score
        ranked = sorted(self.allowed, key=lambda code: -self._leaning[code])
        if self._leaning[ranked[0]] - self._leaning[ranked[1]] < CLEAR:
            return Decision(self.language)
        if ranked[0] != self.language:
            return self._switch(ranked[0])
        self.settled = True
        return Decision(self.language)

    def _switch(self, language: str, *, requested: bool = False) -> Decision:
        self.language = language
        self.settled = True
        self._run.clear()
        return Decision(language, changed=True, requested=requested)
