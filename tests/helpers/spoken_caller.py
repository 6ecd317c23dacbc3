"""A caller who orders tires by voice as a person does: they say what they want in their own
words, then answer whatever the bot asks, check the read-back and correct what is wrong in it.

The caller is a small policy, not a script: it hears the bot's question (the bot's turn as the
server recorded it, matched against the bot's phrases in calls/agent/messages.py), answers it
from what the caller wants, and, like a person, says it again when the bot did not catch it or
keys the number in when the bot offers the keypad. Recognition of synthesised speech is not
perfect: a test follows the dialogue wherever a polite bot takes it, and judges the database.
"""

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from calls.agent.messages import MESSAGES
from calls.models import Turn, TurnRole
from tests.helpers.audiosocket_client import AudioSocketClient

# The bot's phrases that ask something, by what they ask (several phrases may ask one thing).
QUESTIONS = {
    "help": ["help"],
    "size": ["ask_size", "ask_full_size", "none_found"],
    "size_confirm": ["size_did_you_mean"],
    "season": ["ask_season"],
    "choice": ["offers", "offer_one", "offer_one_again", "which_of_two", "which_one",
               "which_model"],
    "quantity": ["ask_quantity", "only_in_stock"],
    "name": ["ask_name"],
    "phone": ["ask_phone", "bad_phone"],
    "keypad": ["ask_keypad"],
    "fulfilment": ["ask_fulfilment"],
    "address": ["ask_address"],
    "confirm": ["confirm"],
    "change": ["what_to_change"],
    "placed": ["placed"],
    "operator": ["transfer", "transfer_not_understood", "order_failed"],
    "goodbye": ["goodbye"],
    "anything_else": ["anything_else", "cancelled"],
}  # fmt: skip


def _template(text: str) -> re.Pattern:
    """A message with {fields} as a pattern whose named groups catch the fields."""
    parts = re.split(r"\{(\w+)\}", text.strip())
    pattern = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    return re.compile(pattern, re.DOTALL)


def _patterns(language: str) -> list[tuple[str, re.Pattern]]:
    return [
        (question, _template(MESSAGES[key][language]))
        for question, keys in QUESTIONS.items()
        for key in keys
    ]


def question_of(text: str, language: str) -> str | None:
    """What the bot's turn asks: the question whose phrase ends last in it."""
    found = [
        (match.end(), question)
        for question, pattern in _patterns(language)
        if (match := pattern.search(text))
    ]
    if not found:
        return None
    last = max(end for end, _ in found)
    asked = {question for end, question in found if end == last}
    for question in ("keypad", "confirm", "placed", "operator"):  # a phrase inside another
        if question in asked:
            return question
    return sorted(asked)[0]


def read_back(text: str, language: str) -> dict[str, str] | None:
    """The values the bot's read-back says it will store, as said (None if it is no read-back)."""
    match = _template(MESSAGES["confirm"][language]).search(text)
    if not match:
        return None
    said = {key: value.strip() for key, value in match.groupdict().items()}
    said["tire"] = f"{said.pop('kind')} {said['tire']}"  # "Winter tires Nokian R5, 205/55 R16"
    said["phone_digits"] = re.sub(r"\D", "", said["phone"])
    return said


def national(e164: str) -> str:
    """+380671234567 -> 0671234567, as the bot reads a Ukrainian number back."""
    return "0" + e164.removeprefix("+380")


@dataclass
class Wants:
    """What the caller wants stored (it changes when the caller corrects themselves)."""

    quantity: int
    name: str
    phone: str  # E.164
    fulfilment: str  # pickup or delivery
    size: str = "205/55 R16"
    address_words: tuple[str, ...] = ()  # words the read-back's address must hold


@dataclass
class CallerTurn:
    text: str  # what the caller said, or the keys pressed
    keyed: bool = False


@dataclass
class SpokenCaller:
    """One caller. `says` gives the caller's words for each question (a list: the first time,
    then the next when asked again); `correct` the corrections the caller makes at the first
    read-back (words, and the change to `wants` they make); `phone_by_keypad` keys the number in
    whenever the bot offers the keypad."""

    client: AudioSocketClient | None  # connected once the caller has rehearsed
    language: str
    voice: Callable[[str, int], bytes]
    wants: Wants
    says: dict[str, list[str]]
    correct: list[tuple[str, dict]] = field(default_factory=list)
    max_turns: int = 16
    bot_turns: list[Turn] = field(default_factory=list)
    said: list[CallerTurn] = field(default_factory=list)
    read_backs: list[dict[str, str]] = field(default_factory=list)
    asked: dict[str, int] = field(default_factory=dict)
    fixing: str = ""  # the field the caller is correcting

    # --- Hearing the bot ------------------------------------------------------------------------

    async def _next_bot_turn(self, timeout: float = 60) -> Turn | None:
        """The bot's next recorded turn (its reply to what the caller last said)."""
        after = self.bot_turns[-1].sequence if self.bot_turns else -1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            turn = (
                await Turn.objects.filter(
                    call__uuid=self.client.call_uuid, role=TurnRole.BOT, sequence__gt=after
                )
                .order_by("sequence")
                .afirst()
            )
            if turn is not None:
                self.bot_turns.append(turn)
                return turn
            await asyncio.sleep(0.2)
        return None

    async def _listen(self) -> Turn | None:
        """Wait for the bot to finish speaking; its turn, or None when it said nothing."""
        try:
            response = await self.client.read_audio_response(
                silence_gap_ms=1500, first_frame_timeout=60
            )
        except TimeoutError:
            return None
        turn = await self._next_bot_turn()
        if response.hung_up:
            self.client.closed = True
        return turn

    # --- Speaking -------------------------------------------------------------------------------

    async def rehearse(self, rate: int) -> None:
        """Synthesise every phrase before the call, off the event loop: a voice made while the
        bot waits (Festival takes seconds on a busy machine) is a caller who says nothing."""
        phrases = [p for options in self.says.values() for p in options]
        phrases += [words for words, _ in self.correct]
        for phrase in phrases:
            await asyncio.to_thread(self.voice, phrase, rate)

    async def say(self, text: str) -> None:
        self.said.append(CallerTurn(text))
        speech = await asyncio.to_thread(self.voice, text, self.client.sample_rate)
        await self.client.send_audio(speech)

    async def key(self, digits: str) -> None:
        """Keys pressed at a person's pace, the entry ended with #."""
        self.said.append(CallerTurn(digits, keyed=True))
        for digit in digits:
            await self.client.send_dtmf(digit)
            await asyncio.sleep(0.25)

    def _words_for(self, question: str) -> str:
        times = self.asked.get(question, 0)
        options = self.says.get(question) or self.says[question.removeprefix("fix_")]
        return options[min(times, len(options) - 1)]

    # --- The call -------------------------------------------------------------------------------

    async def order(self) -> str:
        """Talk until the order is placed, the bot hands over or hangs up, or the turns run
        out; returns the last thing the bot asked."""
        turn = await self._listen()  # the greeting
        question = question_of(turn.text, self.language) if turn else None
        for _ in range(self.max_turns):
            if question in ("placed", "operator", "goodbye") or self.client.closed:
                return question
            await self.answer(question)
            turn = await self._listen()
            if turn is None:  # nothing heard: a person says it again
                question = "again"
                continue
            question = question_of(turn.text, self.language)
        return question or "turn limit"

    async def answer(self, question: str | None) -> None:
        if question == "again" or question is None or question == "anything_else":
            last = next((s for s in reversed(self.said) if not s.keyed), None)
            await self.say(last.text if last else self._words_for("help"))
            return
        if question == "keypad":
            self.asked[question] = self.asked.get(question, 0) + 1
            await self.key(national(self.wants.phone) + "#")
            return
        if question == "size_confirm":  # "did you mean ...?": yes if it is the caller's size
            right = self.wants.size in self.bot_turns[-1].text
            await self.say(self._words_for("yes" if right else "size"))
            return
        if question in ("confirm", "change"):
            await self.check_read_back(question)
            return
        await self.say(self._words_for(question))
        self.asked[question] = self.asked.get(question, 0) + 1

    async def check_read_back(self, question: str) -> None:
        if question == "change":  # "what should I change?": the field and its value again
            await self.say(self._words_for(f"fix_{self.fixing}"))
            self.asked[f"fix_{self.fixing}"] = self.asked.get(f"fix_{self.fixing}", 0) + 1
            return
        said = read_back(self.bot_turns[-1].text, self.language)
        self.read_backs.append(said)
        if self.correct:
            words, change = self.correct.pop(0)
            for key, value in change.items():
                setattr(self.wants, key, value)
            self.fixing = next(iter(change))
            await self.say(words)
            return
        wrong = self.wrong_in(said)
        if not wrong:
            await self.say(self._words_for("yes"))
            return
        # The recognizer got something wrong: say what is wrong and the right value, as a
        # person hearing the order read back would.
        self.fixing = wrong[0]
        await self.say(self._words_for(f"fix_{wrong[0]}"))
        self.asked[f"fix_{wrong[0]}"] = self.asked.get(f"fix_{wrong[0]}", 0) + 1

    def wrong_in(self, said: dict[str, str]) -> list[str]:
        wants, wrong = self.wants, []
        if wants.size not in said["tire"]:
            wrong.append("size")
        if said["quantity"] != str(wants.quantity):
            wrong.append("quantity")
        if said["name"].strip(" .").lower() != wants.name.lower():
            wrong.append("name")
        if said["phone_digits"] != national(wants.phone):
            wrong.append("phone")
        address = said["fulfilment"].lower()
        if wants.fulfilment == "pickup" and address != MESSAGES["pickup"][self.language].lower():
            wrong.append("fulfilment")
        if wants.fulfilment == "delivery" and not all(w in address for w in wants.address_words):
            wrong.append("address")
        return wrong
