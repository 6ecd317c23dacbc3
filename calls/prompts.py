"""The bot's fixed phrases in each language it speaks; rendered ahead of time by the TTS cache."""

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

APOLOGY_NOT_UNDERSTOOD = {
    "en": "Sorry, I didn't catch that. Could you say it again?",
    "uk": "Вибачте, я не розчула. Повторіть, будь ласка.",
    "ru": "Извините, я не расслышала. Повторите, пожалуйста.",
}


def prompt(phrases: dict[str, str], language: str) -> str:
    return phrases.get(language, phrases["en"]).format(shop=settings.SHOP_NAME)


def fixed_prompts(language: str) -> list[str]:
    """Every fixed phrase a call may need at once, to render before the first call."""
    return [
        prompt(GREETING, language),
        prompt(BUSY, language),
        prompt(APOLOGY_NOT_UNDERSTOOD, language),
    ]
