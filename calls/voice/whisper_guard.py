"""Checks on what Whisper wrote: a loop collapsed to one copy, the prompt recited back, too many
words for the audio. Pure functions on text, so the engine and the benchmarks share them."""

import itertools
import re

# A caller says at most ~4 words a second, digits read one by one included; more is a loop or
# a recitation, never speech.
MAX_WORDS_PER_SECOND = 5.0
# A run of this many words copied from the prompt is recitation, not a coincidence ...
PROMPT_RUN = 3
# ... when at least this share of the transcript is made of such runs ...
PROMPT_SHARE = 0.5
# ... and they come from two sentences of the prompt, or cover this share of it.
PROMPT_COVER = 0.8
# Whisper's own line between a decoding it trusts and one it decodes again (its
# log_prob_threshold, -1.0, as a mean token probability): below it, digits alone are as likely
# the prompt's examples pulling at unclear audio as the caller's number ("два" heard "0",
# "пять" heard "0 5 0 0" under a phone prompt that starts "0 5 0").
UNSURE_CONFIDENCE = 0.368


def _key(token: str) -> str:
    return re.sub(r"[^\w]", "", token.lower())


def _single_digits(unit: list[str]) -> bool:
    return all(len(key) == 1 and key.isdigit() for key in unit)


def _digits_only(unit: list[str]) -> bool:
    return all(key.isdigit() for key in unit)


def _copies(keys: list[str], start: int, size: int) -> int:
    unit, count = keys[start : start + size], 1
    while keys[start + count * size : start + (count + 1) * size] == unit:
        count += 1
    return count


def collapse_repeats(text: str) -> str:
    """One copy of a phrase Whisper repeated back to back ("Thank you. Thank you. Thank" ->
    "Thank you.", "205 205 205" -> "205"), without the cut-off copy a token limit leaves at the
    end ("You are now unmuted. You are now" -> "You are now unmuted.").

    Digit runs are what callers say, so they are kept: a unit of single digits never collapses
    ("5 5 5" and "0 5 0 5" are phone digits; see `repeats_digit`), and a unit of numbers only
    from three copies ("50 50" may end a phone number, "205 205 205" is a loop). A phrase with
    words collapses from two copies: a caller's "no, no" loses nothing as "no".
    """
    tokens = text.split()
    keys = [_key(token) for token in tokens]
    kept: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(1, (len(tokens) - i) // 2 + 1):
            unit = keys[i : i + size]
            if not all(unit) or _single_digits(unit):
                continue
            copies = _copies(keys, i, size)
            if copies < (3 if _digits_only(unit) else 2):
                continue
            kept += tokens[i : i + size]
            i += copies * size
            rest = keys[i:]
            if rest and len(rest) < size and unit[: len(rest)] == rest:
                i = len(tokens)  # the copy the token limit cut short
            break
        else:
            kept.append(tokens[i])
            i += 1
    return " ".join(_without_cut_copy(kept))


def _without_cut_copy(tokens: list[str]) -> list[str]:
    """Without a last run of two or more words that repeats the start of a sentence said before
    (its last word maybe cut mid-word), or a last word cut from such a sentence's first word:
    the copy of a loop the token limit cut short."""
    keys = [_key(token) for token in tokens]
    for size in range(len(keys) // 2, 0, -1):
        tail, start = keys[-size:], len(keys) - size
        if _single_digits(tail) or not all(tail):
            continue
        for before in range(start - size, -1, -1):
            sentence_start = before == 0 or tokens[before - 1][-1] in ".?!,"
            earlier = keys[before : before + size]
            cut = earlier[-1].startswith(tail[-1])
            if size == 1:  # one word, cut mid-word right after itself ("Michelin, Miche")
                cut = (
                    cut
                    and before == start - 1
                    and len(tail[-1]) >= 3
                    and earlier[-1] != tail[-1]
                    and tokens[-1][-1].isalnum()
                )
            if sentence_start and earlier[:-1] == tail[:-1] and cut:
                return tokens[:start]
    return tokens


def repeats_digit(text: str, copies: int = 3) -> bool:
    """A single digit `copies` times in a row ("7 7 7"): Whisper's loop on a short window, or
    a caller's "five five five", which the text alone cannot tell apart."""
    keys = [_key(token) for token in text.split()]
    return any(
        len(keys[i]) == 1 and keys[i].isdigit() and len(set(keys[i : i + copies])) == 1
        for i in range(len(keys) - copies + 1)
    )


def repeats_numbers(text: str, size: int = 3) -> bool:
    """The same `size` tokens with a number of two or more digits among them twice, apart or
    back to back ("0 67 3 60 37 90 1 0 67 3 63 60 ..."): a loop that bends each copy, which
    `collapse_repeats` cannot fold. A phone number or a size said once does not repeat three
    of its groups; digits read one by one ("0 5 0 5 0 5") are left to `repeats_digit`."""
    keys = [_key(token) for token in text.split()]
    seen: set[tuple[str, ...]] = set()
    for i in range(len(keys) - size + 1):
        gram = tuple(keys[i : i + size])
        if not all(gram) or not any(key.isdigit() and len(key) > 1 for key in gram):
            continue
        if gram in seen:
            return True
        seen.add(gram)
    return False


def unsure_digits(text: str, confidence: float | None) -> bool:
    """Only digits, decoded below Whisper's own confidence line: a wrong digit goes into a phone
    or order number unnoticed, where a word heard wrong is asked again."""
    keys = [_key(token) for token in text.split()]
    keys = [key for key in keys if key]
    return (
        bool(keys)
        and _digits_only(keys)
        and confidence is not None
        and confidence < UNSURE_CONFIDENCE
    )


def words(text: str) -> list[str]:
    """Lower-case words and numbers, punctuation gone, digits apart from letters ("R16")."""
    text = re.sub(r"(\d)([^\W\d_])|([^\W\d_])(\d)", r"\1\3 \2\4", text.lower())
    return re.findall(r"[^\W_]+", text.replace("'", ""))


def recites_prompt(text: str, prompt: str | None) -> bool:
    """True when the transcript is Whisper's prompt rather than the caller: mostly runs of
    three or more words copied from it, with pieces of two of its sentences or most of it ("Olena."
    heard as "Phone 067 123 45. Order number 1045."). A caller who says one of the prompt's
    examples ("205/55 R16") is not reciting."""
    if not prompt:
        return False
    said = words(text)
    sentences = [words(sentence) for sentence in re.split(r"(?<=[.?!])\s+", prompt)]
    given = [word for sentence in sentences for word in sentence]
    runs = {tuple(given[i : i + PROMPT_RUN]) for i in range(len(given) - PROMPT_RUN + 1)}
    copied = [False] * len(said)
    for i in range(len(said) - PROMPT_RUN + 1):
        if tuple(said[i : i + PROMPT_RUN]) in runs:
            copied[i : i + PROMPT_RUN] = [True] * PROMPT_RUN
    share = sum(copied)
    if share < PROMPT_RUN or share / len(said) < PROMPT_SHARE:
        return False
    # Which of the prompt's sentences the transcript has word pairs of.
    placed = [(word, index) for index, sentence in enumerate(sentences) for word in sentence]
    pairs: dict[tuple[str, str], set[int]] = {}
    for (first, one), (second, other) in itertools.pairwise(placed):
        pairs.setdefault((first, second), set()).update((one, other))
    sources = set().union(*(pairs.get(pair, set()) for pair in itertools.pairwise(said)))
    return len(sources) >= 2 or share >= PROMPT_COVER * len(given)


def too_long(text: str, seconds: float) -> bool:
    """More words than anyone says in `seconds`: a loop or a hallucination."""
    return len(words(text)) > 2 + MAX_WORDS_PER_SECOND * seconds
