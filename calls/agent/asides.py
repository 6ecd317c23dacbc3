"""What a caller says beside the order, answered the way a call center's operator would, and
the call's question asked again: no failed answer, so none that counts towards an operator.

- A greeting or a check of the line, alone ("Алло", "Алло, алло?", "Добрий день", "Здравствуйте",
  "Hello?", "Ви мене чуєте?", "Вы меня слышите?"), at the start or mid-call: greeted back or
  told "yes, I hear you". "Зачекайте", "one moment": "sure", and the question stands.
- A request for a language the shop does not speak ("Можна англійською?", "Do you speak
  English?" where CALL_LANGUAGES is uk,ru): told, in the call's language, which ones it speaks;
  a caller who asks again is put through to an operator.
"""

import re

from ..language import unspoken_language
from ..language_settings import shop_languages
from .base import Action, AgentReply
from .lexicon import WORD, normalize, pattern, words

# A greeting: greeted back.
GREETINGS = words(
    "добрий день", "доброго дня", "добрий вечір", "доброго вечора", "добрий ранок", "доброго ранку",
    "день добрий", "вітаю", "привіт", "здрастуйте", "добрый день", "добрый вечер",
    "доброе утро", "доброго утра", "здравствуйте", "здраствуйте", "здрасте", "здрасьте",
    "приветствую", "привет", "hello", "hi", "hey", "hi there", "good morning", "good afternoon",
    "good evening", "good day",
)  # fmt: skip
# "Алло": the caller is there and listening; "yes, I'm listening".
HELLO = re.compile(rf"(?<!{WORD})(?:ал+[оеё]+у?|ало|алоу|halo|hallo)(?!{WORD})")
# A check of the line: "yes, I hear you".
CHECKS = words(
    "ви мене чуєте", "мене чути", "мене чуєте", "чуєте мене", "ви мене чуєте взагалі", "чуєте",
    "ви чуєте", "ви тут", "ви на зв'язку", "ви на лінії", "є хто", "є хтось", "слухаєте",
    "вы меня слышите", "меня слышно", "меня слышите", "слышите меня", "слышно меня", "слышите",
    "вы слышите", "вы тут", "вы здесь", "вы на связи", "вы на линии", "есть кто", "есть кто-нибудь",
    "can you hear me", "do you hear me", "you hear me", "hear me", "are you there",
    "you there", "anybody there", "anyone there", "is anyone there", "is anybody there",
)  # fmt: skip
# Words said around them that change nothing ("Дівчино, ви мене чуєте?", "ну алло").
FILLERS = words(
    "ну", "а", "е", "э", "ой", "дівчино", "девушка", "пані", "шановна", "oh",
    "well", "so", "now", "please", "будь ласка", "пожалуйста", "взагалі", "вообще", "там",
)  # fmt: skip

PHRASES = {
    "greeting": {"uk": "Вітаю! ", "ru": "Здравствуйте! ", "en": "Hello! "},
    "hello": {"uk": "Так, слухаю вас. ", "ru": "Да, слушаю вас. ", "en": "Yes, I'm listening. "},
    "wait": {"uk": "Звісно, чекаю.", "ru": "Конечно, жду.", "en": "Sure, take your time."},
    "check": {"uk": "Так, я вас чую. ", "ru": "Да, я вас слышу. ", "en": "Yes, I can hear you. "},
    "unspoken": {
        "uk": "На жаль, {asked} ми не розмовляємо, лише {spoken}. ",
        "ru": "К сожалению, {asked} мы не говорим, только {spoken}. ",
        "en": "Sorry, we don't speak {asked}, only {spoken}. ",
    },
    "unspoken_again": {
        "uk": "На жаль, {asked} ми не розмовляємо. З'єдную вас з оператором.",
        "ru": "К сожалению, {asked} мы не говорим. Соединяю вас с оператором.",
        "en": "Sorry, we don't speak {asked}. Let me put you through to an operator.",
    },
    "and": {"uk": " та ", "ru": " и ", "en": " and "},
}
# A language named as the call's language speaks of speaking it.
SPEAKING = {
    "uk": {"uk": "українською", "ru": "російською", "en": "англійською"},
    "ru": {"uk": "на украинском", "ru": "на русском", "en": "на английском"},
    "en": {"uk": "Ukrainian", "ru": "Russian", "en": "English"},
}


def line_check(text: str) -> str | None:
    """ "wait", "check", "greeting" or "hello" when that is all the caller said, else None."""
    lower = normalize(text)
    kinds = (
        ("wait", pattern("wait")),
        ("check", CHECKS),
        ("greeting", GREETINGS),
        ("hello", HELLO),
    )
    found = [kind for kind, said in kinds if said.search(lower)]
    if not found:
        return None
    rest = lower
    for said in (*(said for _, said in kinds), FILLERS):
        rest = said.sub(" ", rest)
    if re.search(rf"{WORD}|\d", rest):
        return None  # "Добрий день, мені шини": the rest is heard as usual
    if found[0] == "greeting" and lower.rstrip().endswith("?"):
        return "hello"  # "Hello?", "Добрий день?": is anyone there?
    return found[0]


# Greetings and checks of the line in a row, with nothing else said, that are answered. One more
# and the caller evidently does not hear the bot (one-way audio, a bad line): an operator takes
# the call rather than "Yes, I can hear you" for ever.
MAX_CHECKS_IN_ROW = 3


class Asides:
    """The dialogue's answers to asides (a mixin of the policy)."""

    def aside(self, text: str) -> AgentReply | str | None:
        """The reply to an aside said alone; for a language the shop does not speak, the answer
        to go before the reply to the rest (the policy takes what else was said)."""
        if kind := line_check(text):
            if kind == "wait":  # the caller comes back with the answer to the same question
                return AgentReply(PHRASES[kind][self.language])
            checks = self.state["checks_in_row"] = self.state.get("checks_in_row", 0) + 1
            if checks > MAX_CHECKS_IN_ROW:
                return self.transfer()
            return self.again_with(PHRASES[kind][self.language])
        self.state.pop("checks_in_row", None)
        spoken = self.spoken_languages()
        if asked := unspoken_language(text, spoken):
            names = SPEAKING[self.language]
            asked_said = names.get(asked, asked)
            if self.state.get("unspoken_asked"):
                # They insist: an operator takes the call.
                transfer = self.transfer()
                text = PHRASES["unspoken_again"][self.language].format(asked=asked_said)
                return AgentReply(text, Action.TRANSFER, transfer.outcome)
            self.state["unspoken_asked"] = True
            listed = [names[code] for code in spoken]
            joined = ", ".join(listed[:-1]) + PHRASES["and"][self.language] + listed[-1]
            said = joined if len(listed) > 1 else listed[0]
            return PHRASES["unspoken"][self.language].format(asked=asked_said, spoken=said)
        return None

    def spoken_languages(self) -> tuple[str, ...]:
        """The shop's languages, the call's own among them."""
        shop = shop_languages()
        return shop if self.language in shop else (self.language, *shop)

    def again_with(self, prefix: str) -> AgentReply:
        """The call's question again after `prefix`, its unanswered count untouched."""
        if self.stage == "transferred":
            return self.transfer()
        _, question = self.current_question()
        return AgentReply(prefix + question)
