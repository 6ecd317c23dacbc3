"""Names and addresses in what a caller said, and the value a correction gives ("the name is
wrong, it's Yulia", "адрес другой: Киев, Жилянская 12", "не Оля, а Юля")."""

import re

from catalog.spoken import words_to_digits

from . import lexicon
from .lexicon import WORD

# What a name or an address may start with, to be stripped: fillers and the question's words.
_FILLER = re.compile(
    rf"^(?:(?:так|да|yes|ok|okay|ну|well|so|ага|угу|добре|хорошо|значит|значить|будь ласка|please|"
    rf"пожалуйста|пишіть|пишите|записуйте|записывайте|запишіть|запишите|це|это|it's|it is|"
    rf"адреса|адресу|адрес|address|the address is|за адресою|по адресу|доставка|delivery|доставку|"
    rf"на|в|у|до|to|is)(?!{WORD})[\s,.:-]*)+"
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
    said = said.strip(" ,.:;-")
    lower = lexicon.normalize(said)
    address = said[len(lower) - len(_FILLER.sub("", lower)) :]
    address = _TRAILING.sub("", address).strip(" ,.:;-")
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
        said = re.split(r"[\d,.!?;:]", lower, maxsplit=1)[0]
        return _name_words(_FILLER.sub("", said))
    return None


def _name_words(said: str) -> str | None:
    taken = []
    for word in re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)?", said):
        lower = lexicon.normalize(word)
        if lexicon.is_not_name(lower) or re.search(r"\d", words_to_digits(lower)):
            break
        if len(word) < 2:
            break
        taken.append(word[:1].upper() + word[1:])
        if len(taken) == 3:
            break
    return " ".join(taken) or None
