"""The spoken caller must understand every question the bot asks in each language, or an E2E call
would go round in circles: checked against the bot's own phrases."""

import pytest

from calls.agent.messages import MESSAGES, say
from tests.helpers.spoken_caller import QUESTIONS, question_of, read_back

VALUES = {
    "size": "205/55 R16", "rim": "16", "what": "winter tires 205/55 R16", "option": "Nokian",
    "options": "1, Nokian; 2, Michelin", "brand": "Nokian", "models": "R5 or R3", "stock": "4",
    "last": "6 7", "number": "1 2 3", "kind": "Winter tires", "tire": "Nokian R5, 205/55 R16",
    "quantity": "4", "total": "15600 UAH", "name": "Peter", "phone": "0 6 7, 1 2 3, 4 5, 6 7",
    "fulfilment": "Pickup",
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "uk", "ru"])
@pytest.mark.parametrize(
    ("question", "key"), [(q, k) for q, keys in QUESTIONS.items() for k in keys]
)
def test_every_question_of_the_bot_is_recognised(language, question, key):
    text = say(key, language, **VALUES)
    assert question_of(f"{MESSAGES['sorry'][language]}{text}", language) == question


@pytest.mark.parametrize("language", ["en", "uk", "ru"])
def test_the_keypad_offer_after_a_bad_number_is_heard_as_such(language):
    text = f"{say('bad_phone', language)} {say('ask_keypad', language)}"
    assert question_of(text, language) == "keypad"


@pytest.mark.parametrize("language", ["en", "uk", "ru"])
def test_a_read_back_gives_every_value(language):
    said = read_back(say("confirm", language, **VALUES), language)
    assert said["quantity"] == "4" and said["name"] == "Peter"
    assert said["phone_digits"] == "0671234567" and said["tire"].endswith(VALUES["tire"])
