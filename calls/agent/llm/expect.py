"""What the LLM agent's reply asks for (CallContext.expect, so that recognition is fitted to it),
and the limit on asking it: the same question left unanswered twice goes to an operator.

The model words its questions freely, so what it asks is read from its last question in the
call's languages; a read-back the agent said itself is "confirm" without reading.
"""

import re

from ..understanding import Heard

MAX_ASKED = 2  # the same question, unanswered, at most this many times in a row

# The first that matches the reply's last question wins: "the delivery address?" is an address,
# "your order number?" no phone.
_ASKS = [
    ("order_number", r"order number|number of (?:your|the) order|"
                     r"номер (?:ваш\w* )?(?:замовлен|заказ)"),
    ("phone", r"phone|телефон|number (?:to|we can) (?:reach|call)|number you(?:'re| are) "
              r"calling from|з якого ви телефонуєте|с которого вы звоните|digit by digit|"
              r"по цифр|key (?:it|the number) in|набрати номер|набрать номер"),
    ("address", r"address|адрес"),
    ("name", r"\bname\b|ім'я|імені|звати|\bимя\b|имени|зовут|на кого"),
    ("fulfilment", r"pick (?:them |it )?up|pickup|deliver|самовив|самовыв|забер|доставк"),
    ("quantity", r"how many|скільки (?:штук|шин|вам)|сколько (?:штук|шин|вам)|кількість|количеств"),
    ("size", r"\bsize\b|розмір|размер|радіус|радиус"),
    ("season", r"season|winter or summer|summer or winter|зимов\w* чи|літн\w* чи|зимн\w* или|"
               r"летн\w* или|сезон"),
    ("choice", r"which (?:one|of|would|do)|яку? (?:з|із)|які (?:з|саме)|котр|какой из|какую из|"
               r"какие (?:из|именно)|которы|до вподоби|вам подходят|берете|беріть|берёте|"
               r"take (?:these|them|this)|book these|ці шини|эти шины"),
    ("confirm", r"place (?:the|your) order|shall i|is (?:that|this|everything) (?:right|correct)|"
                r"оформ|підтвердж|подтвержд|правильно|вірно|верно"),
]  # fmt: skip
# "What should I change? The tires, ..., the phone?" asks for no one slot.
_CHANGE = re.compile(r"what should i change|what to change|що змінити|что изменить", re.I)
_PATTERNS = [(expect, re.compile(words, re.IGNORECASE)) for expect, words in _ASKS]
_QUESTION = re.compile(r"[^.?!]*\?")
_SENTENCE = re.compile(r"[^.?!]+[.!]?\s*$")
# Asked without a question mark: "Please say it digit by digit."
_REQUEST = re.compile(
    r"please|tell me|say it|key|назвіть|скажіть|повторіть|наберіть|назовите|скажите|повторите|"
    r"наберите|набрати|набрать",
    re.IGNORECASE,
)

# What the caller's words must give for a question to count as answered.
_ANSWERED = {
    "size": lambda h: bool(h.size or h.rim or h.size_guess),
    "season": lambda h: bool(h.season or h.studded is not None),
    "choice": lambda h: bool(h.choice or h.brand or h.cheapest or h.no or h.among),
    "quantity": lambda h: h.quantity is not None,
    "name": lambda h: bool(h.name),
    "phone": lambda h: bool(h.phone or h.yes or h.this_number),
    "fulfilment": lambda h: bool(h.fulfilment or h.address),
    "address": lambda h: bool(h.address),
    "confirm": lambda h: bool(h.yes or h.no or h.correction or h.cancel),
    "order_number": lambda h: bool(h.order_number or h.phone),
}


def asked_in(reply: str) -> str:
    """What the reply's last question asks for, or "free" ("change" for "what should I change?",
    which recognition hears as free speech and understanding as a correction)."""
    questions = _QUESTION.findall(reply)
    if _CHANGE.search(reply):
        return "change"
    if not questions:
        last_sentence = _SENTENCE.search(reply.strip())
        if not last_sentence or not _REQUEST.search(last_sentence.group()):
            return "free"
        questions = [last_sentence.group()]
    last = questions[-1].lower().replace("’", "'")
    return next((expect for expect, pattern in _PATTERNS if pattern.search(last)), "free")


def answered(expect: str, heard: Heard, questions: bool = True) -> bool:
    """Whether the caller's words answer the question asked (a question of theirs counts, unless
    `questions` is False: it was answered, and asking again is right)."""
    check = _ANSWERED.get(expect)
    return check is None or check(heard) or (questions and bool(heard.question))


def ask_count(state: dict, expect: str, reply: str, progress: bool, changed: bool) -> int:
    """How many times in a row this question has now been asked without an answer. `progress`:
    the caller answered it, asked something that was answered, or a tool did something; `changed`:
    the same without the questions answered. The very same reply again is a repeat unless
    something changed: a caller whose every answer is misheard the same way (at the read-back,
    "open" taken for a question about opening hours) is not read the same order back for ever."""
    last = state.get("llm_asked") or {"expect": "free", "text": "", "times": 0}
    text = " ".join(reply.lower().split())
    same = (expect != "free" and expect == last["expect"] and not progress) or (
        text == last["text"] and not changed
    )
    times = last["times"] + 1 if same else 1
    state["llm_asked"] = {"expect": expect, "text": text, "times": times}
    return times
