"""Names and addresses in what a caller said, and the value a correction gives ("the name is
wrong, it's Yulia", "адрес другой: Киев, Жилянская 12", "не Оля, а Юля")."""

import re
from collections.abc import Sequence

from catalog.spoken import words_to_digits

from . import lexicon
from .heard_choice import latin
from .lexicon import WORD

# What a name or an address may start with, to be stripped: fillers and the question's words.
_FILLER = re.compile(
    rf"^(?:(?:так|да|yes|ok|okay|ну|well|so|ага|угу|добре|хорошо|значит|значить|будь ласка|please|"
    rf"пожалуйста|пишіть|пишите|записуйте|записывайте|запишіть|запишите|це|это|it's|it is|"
    rf"адреса|адресу|адрес|address|the address is|за адресою|по адресу|доставка|delivery|доставку|"
    rf"давайте|давай|let's say|let's|let us|say|скажімо|скажем|мабуть|наверное|короче|типу|"
    rf"типа|ось|вот|"
    rf"на|в|у|до|to|is)(?!{WORD})[\s,.:-]*)+"
)
# Hesitations anywhere in an address ("на Соборну 5, ну, в Ірпені"): no part of it.
_HESITATION = re.compile(
    rf"(?<![^\W_])(?:ну|е+|э+|ем|эм|мм+|uh|um+|erm|hmm|короче|типу|типа|значить|значит)"
    rf"(?!{WORD})[\s,.]*",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:добрий день|добрый день|доброго дня|добрий вечір|добрый вечер|доброе утро|добрий ранок|"
    r"здравствуйте|здрасте|вітаю|привіт|привет|алло|алё|hello|hi|good morning|good afternoon)\W*"
)
_TRAILING = re.compile(
    r"[\s,.!?]*(?:будь ласка|please|пожалуйста|дякую|спасибо|thanks)?[\s,.!?]*$", re.IGNORECASE
)
# Words between a named field and its new value: "адрес неправильно, правильно: ...".
_CORRECTION_LEAD = re.compile(
    rf"^(?:(?:неправильн{WORD}*|невірн{WORD}*|неверн{WORD}*|правильн{WORD}*|вірн{WORD}*|"
    rf"верн{WORD}*|друг(?:ой|ая|ую)|інш(?:а|ий|у)|нов(?:ий|а|ый|ая|ую)|new|correct|right|wrong|"
    rf"the|is|should be|має бути|должен быть|будет|буде|it's|its|а|but|actually|it|one|"
    rf"не така|не такий|не такой|не та|не той|не тот|not that)(?!{WORD})[\s,.:;-]*)+"
)
# "не Оля, а Юля", "not four, two": the value negated is dropped, the one after it stays.
_NEGATED = re.compile(
    rf"(?<!{WORD})(?:не|not)\s+(?!треба|надо|нужно|так(?!{WORD})|та(?!{WORD})|той|тот|то(?!{WORD}))"
    rf"[^\s,.]+\s*,?\s*(?:(?:а|but|and)\s+)?"
)


# A verb's plural imperative ending ("зачекайте", "подождите", "скажіть", "поставьте").
_IMPERATIVE = re.compile(r"(?:[аяуюиіеєо]йте|[^\W\d_]{2}(?:іть|ить|ите|ьте))$")


# "two instead of four", "дві замість чотирьох": the value after these is the old one.
_INSTEAD = re.compile(rf"(?<!{WORD})(?:instead of|rather than|замість|вместо)\s+[^\s,.]+")


# "не Тарас Шевченко, а Юлія": up to four words negated before "а"/"but".
_NEGATED_UP_TO_BUT = re.compile(
    rf"(?<!{WORD})(?:не|not)\s+(?:[^\s,.]+\s*){{1,4}}?,?\s*(?:а|but)\s+(?={WORD}|\d)"
)


def without_negated(lower: str) -> str:
    lower = _INSTEAD.sub(" ", lower)
    return _NEGATED.sub(" ", _NEGATED_UP_TO_BUT.sub(" ", lower))


def address_in(said: str) -> str | None:
    """The address in `said`, without fillers ("the address is", "на", "please")."""
    said = _HESITATION.sub(" ", said).strip(" ,.:;-")
    lower = lexicon.normalize(said)
    address = said[len(lower) - len(_FILLER.sub("", lower)) :]
    address = re.sub(r"\s+([,.])", r"\1", re.sub(r"\s{2,}", " ", address))
    address = re.sub(r"([,.])(?:\s*[,.])+", r"\1", _TRAILING.sub("", address)).strip(" ,.:;-")
    words = re.findall(rf"{WORD}+", address.lower())
    meaningful = [w for w in words if len(w) > 2 and not lexicon.is_not_name(w)]
    if not address or not (meaningful or re.search(r"\d", address)):
        return None
    return address


def corrected_address(text: str, field: re.Match) -> str | None:
    """The new address after "address" in a correction: "адрес другой киев жилянская 12"."""
    rest = text[field.end() :]
    lower = lexicon.normalize(rest)
    rest = rest[len(lower) - len(_CORRECTION_LEAD.sub("", lower.lstrip(" ,.:;-"))) :]
    return address_in(rest)


def name_in(text: str, lower: str, language: str, asking: str, phone_tried: bool) -> str | None:
    """The caller's name: after "my name is"/"мене звати" anywhere, after "це"/"this is" when it
    is written with a capital, or the words said when the name is asked for. Never a number, a
    slot word or a yes. A name corrected in one breath ("не Оля, а Юля") is the last one."""
    found = None
    for weak in (False, True):
        intro, at = lexicon.name_intro(language, weak), 0
        while match := intro.search(lower, at):
            at = match.start("name")  # the next introduction may be inside this one's words
            original = text[match.start("name") : match.end("name")] if text else ""
            if weak and asking != "name" and not original[:1].isupper():
                continue
            rest = lower[match.start("name") :]
            rest = re.split(r"[\d,.!?;:]", _CORRECTION_LEAD.sub("", rest), maxsplit=1)[0]
            found = _name_words(rest) or found
        if found:
            return found
    if match := re.search(rf"(?:мене|меня)\s+({WORD}+)\s+(?:звати|зовут)", lower):
        if name := _name_words(match[1]):
            return name
    if asking == "name" and not phone_tried:
        # "Добрий день, Олена Коваль", "так, Сергей Петрович": after greetings and a yes, the
        # first part said is the name or none is ("доставка, Київ" names no Київ).
        for said in re.split(r"[,.!?;:]", re.split(r"\d", lower, maxsplit=1)[0]):
            if said := _FILLER.sub("", _GREETING.sub("", said.strip())).strip():
                return _name_words(said)
    return None


def bare_name(text: str, brands: Sequence, offers: Sequence[dict]) -> str | None:
    """A name said with no introduction while the tires are still being chosen ("перші, Олена
    Коваль", "Сергей Петрович"): a part of the utterance of two or three words, each written
    with a capital as speech-to-text writes names, none a word the bot knows, a number, or like
    a brand or tread line that could be meant ("Вінтер Спорт" is Winter Sport). Later in the
    call, a name corrected so ("ой, на Светлану Петренко") is found the same way."""
    said = [spelling for name, aliases in brands for spelling in (name, *aliases)]
    said += [f"{offer['brand']} {offer['model']}" for offer in offers]
    taken = [word for words in said for word in re.findall(r"[^\W\d_]{3,}", words)]
    for part in re.split(r"[,.!?;:]", text):
        words = re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)?", part)
        while words and lexicon.is_not_name(lexicon.normalize(words[0])):
            words.pop(0)  # "на Светлану Петренко"
        part = " ".join(words)
        if not 2 <= len(words) <= 3 or re.search(r"\d", part):
            continue
        if not all(word[:1].isupper() for word in words):
            continue
        if any(_like_taken(word, taken) for word in words):
            continue
        if (name := _name_words(lexicon.normalize(part))) and len(name.split()) == len(words):
            return " ".join(words)
    return None


def like_brand(name: str, brands: Sequence) -> bool:
    """A name asked for that is a brand as said ("нокіан", "матадор"): the caller speaks of the
    tires, it is no name. Close to the whole spelling only: "Ярослава" is no Rosava."""
    from rapidfuzz import fuzz

    said = lexicon.normalize(name)
    spellings = [s.lower() for brand, aliases in brands for s in (brand, *aliases)]
    return any(
        fuzz.ratio(said, spelling) >= 88 or fuzz.ratio(latin(said), spelling) >= 88
        for spelling in spellings
    )


def _like_taken(word: str, taken: Sequence[str]) -> bool:
    from rapidfuzz import fuzz

    latin_word = latin(lexicon.normalize(word))
    return any(
        fuzz.ratio(latin_word, other.lower()) >= 75 or fuzz.ratio(word.lower(), other.lower()) >= 75
        for other in taken
    )


def _name_words(said: str) -> str | None:
    taken = []
    for word in re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)?", said):
        lower = lexicon.normalize(word)
        if lexicon.is_not_name(lower) or re.search(r"\d", words_to_digits(lower)):
            break
        if len(word) < 2 or (not taken and _IMPERATIVE.search(lower)):
            break  # "зачекайте", "подождите", "скажіть": no name starts so
        taken.append(word[:1].upper() + word[1:])
        if len(taken) == 3:
            break
    return " ".join(taken) or None
