"""The bot's fixed phrases in each language it speaks; rendered ahead of time by the TTS cache."""

import re

from django.conf import settings

GREETING = {
    "en": "Hello! You have reached {shop}. How can I help you?",
    "uk": "Добрий день! Ви зателефонували до {shop}. Чим можу допомогти?",
    "ru": "Здравствуйте! Вы позвонили в {shop}. Чем могу помочь?",
}
BUSY = {
    "en": "Sorry, all our lines are busy right now. Please call again in a few minutes.",
    "uk": "Вибачте, зараз усі лінії зайняті. Будь ласка, зателефонуйте за кілька хвилин.",
    "ru": "Извините, сейчас все линии заняты. Пожалуйста, перезвоните через несколько минут.",
}
# Speech recognition is at capacity (calls/admission.py): a new caller is put through to the
# operators; a caller whose answer is coming late hears this instead of silence.
BUSY_TO_OPERATOR = {
    "en": "Sorry, all our lines are busy. Let me put you through to an operator.",
    "uk": "Вибачте, усі лінії зайняті. З'єдную вас з оператором.",
    "ru": "Извините, все линии заняты. Соединяю вас с оператором.",
}
ONE_MOMENT = {
    "en": "One moment, please.",
    "uk": "Хвилинку, будь ласка.",
    "ru": "Одну минуту, пожалуйста.",
}

APOLOGY_NOT_UNDERSTOOD = {
    "en": "Sorry, I didn't catch that. Could you say it again?",
    "uk": "Вибачте, я не розчула. Повторіть, будь ласка.",
    "ru": "Извините, я не расслышала. Повторите, пожалуйста.",
}

# A caller who says nothing: asked once, then the bot says goodbye and hangs up.
STILL_THERE = {
    "en": "Are you still there? How can I help you?",
    "uk": "Ви ще на лінії? Чим можу допомогти?",
    "ru": "Вы ещё на линии? Чем могу помочь?",
}
NO_INPUT_GOODBYE = {
    "en": "I can't hear you. Please call us again. Goodbye!",
    "uk": "Вас не чути. Будь ласка, зателефонуйте ще раз. До побачення!",
    "ru": "Вас не слышно. Пожалуйста, перезвоните. До свидания!",
}

# When the bot cannot speak its reply (the TTS engine failed): stored ahead, so it still plays.
APOLOGY_TRANSFER = {
    "en": "Sorry, I'm having technical trouble. Let me put you through to an operator.",
    "uk": "Вибачте, у мене технічні труднощі. З'єдную вас з оператором.",
    "ru": "Извините, у меня технические неполадки. Соединяю вас с оператором.",
}


# The caller asked for another language: said in the new one, before the question again.
LANGUAGE_SWITCHED = {
    "en": "Sure, let's speak English.",
    "uk": "Звісно, говоримо українською.",
    "ru": "Конечно, говорим по-русски.",
}


def prompt(phrases: dict[str, str], language: str) -> str:
    return phrases.get(language, phrases["en"]).format(shop=settings.SHOP_NAME)


def fixed_prompts(language: str) -> list[str]:
    """Every fixed phrase a call may need at once, to render before the first call."""
    return [
        prompt(GREETING, language),
        prompt(BUSY, language),
        prompt(APOLOGY_NOT_UNDERSTOOD, language),
        prompt(APOLOGY_TRANSFER, language),
        prompt(STILL_THERE, language),
        prompt(NO_INPUT_GOODBYE, language),
        prompt(BUSY_TO_OPERATOR, language),
        prompt(ONE_MOMENT, language),
        prompt(LANGUAGE_SWITCHED, language),
    ]


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_sentences(text: str) -> list[str]:
    """The units the bot speaks (and the TTS cache keeps): sentences."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def prompt_sentences(language: str) -> list[str]:
    """The fixed prompts as the bot speaks them, one sentence at a time, each once."""
    return list(dict.fromkeys(s for text in fixed_prompts(language) for s in split_sentences(text)))
