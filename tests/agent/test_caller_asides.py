"""What callers say beside the order, with the rule-based agent: a greeting or a check of the
line, a language the shop does not speak, "one moment", and a bare name as a recognizer writes
it. Each is answered the way an operator would and the call goes on; none is a miss."""

import uuid
from decimal import Decimal

import pytest

from calls.agent.base import Action, CallContext
from calls.agent.messages import say
from calls.agent.rules import RuleBasedAgent
from catalog.models import Season
from tests.factories import make_brand, make_tire

pytestmark = pytest.mark.django_db

SIZE = {"uk": "зимові двісті п'ять п'ятдесят п'ять шістнадцять", "ru": "зимние 205 55 16",
        "en": "winter tires two hundred five fifty five r sixteen"}  # fmt: skip
NONSENSE = {"uk": "сині банани летять", "ru": "синие бананы летят", "en": "blue bananas fly"}


@pytest.fixture
def shop(settings):
    settings.CALL_LANGUAGES, settings.CALL_LANGUAGE = ["uk", "ru"], "uk"
    nokian = make_brand(name="Nokian Tyres", aliases="Нокіан, Нокиан, Nokian")
    dunlop = make_brand(name="Dunlop", aliases="Данлоп")
    winter = {"season": Season.WINTER}
    make_tire(brand=dunlop, model="Winter Sport 5", price=Decimal("4230"), stock_quantity=4,
              sku="DUN-WS5-16", **winter)  # fmt: skip
    make_tire(brand=nokian, model="Hakkapeliitta R5", price=Decimal("5870"), stock_quantity=12,
              sku="NOK-R5-16", **winter)  # fmt: skip


def _caller(language: str) -> tuple[RuleBasedAgent, CallContext]:
    return RuleBasedAgent(), CallContext(uuid.uuid4(), language)


def _at_quantity(language: str) -> tuple[RuleBasedAgent, CallContext]:
    agent, context = _caller(language)
    agent.turn(context, SIZE[language])
    first = {"uk": "перші", "ru": "первые", "en": "the first one"}[language]
    assert agent.turn(context, first).text == say("ask_quantity", language)
    return agent, context


@pytest.mark.parametrize(
    ("language", "said", "answer"),
    [
        ("uk", "Алло", "Так, слухаю вас."),
        ("uk", "Алло, алло?", "Так, слухаю вас."),
        ("uk", "алло алло ви мене чуєте", "Так, я вас чую."),
        ("uk", "Ви мене чуєте?", "Так, я вас чую."),
        ("uk", "Добрий день", "Вітаю!"),
        ("uk", "Здравствуйте", "Вітаю!"),
        ("ru", "Здравствуйте", "Здравствуйте!"),
        ("ru", "Вы меня слышите?", "Да, я вас слышу."),
        ("ru", "Девушка, алло", "Да, слушаю вас."),
        ("en", "Hello?", "Yes, I'm listening."),
        ("en", "Can you hear me?", "Yes, I can hear you."),
    ],
)
def test_a_greeting_or_a_check_mid_call_is_answered_and_the_question_asked_again(
    shop, language, said, answer
):
    agent, context = _at_quantity(language)
    for _ in range(3):  # however often: none of them is a failed answer
        reply = agent.turn(context, said)
        assert reply.text == f"{answer} {say('ask_quantity', language)}"
        assert reply.action == Action.CONTINUE
    # One misheard answer after them is the first miss, not the third.
    assert agent.turn(context, NONSENSE[language]).action == Action.CONTINUE
    assert agent.turn(context, "4").text == say("ask_name", language)


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_a_caller_who_only_ever_checks_the_line_goes_to_an_operator(shop, language):
    """One-way audio: the caller never hears the bot and says "алло?" again and again."""
    agent, context = _at_quantity(language)
    said = {"uk": "Алло?", "ru": "Алло, вы меня слышите?", "en": "Hello? Can you hear me?"}
    replies = [agent.turn(context, said[language]) for _ in range(4)]
    assert [r.action for r in replies[:3]] == [Action.CONTINUE] * 3
    assert replies[3].action == Action.TRANSFER
    assert agent.turn(context, "4").action == Action.TRANSFER  # and it stays with the operator


@pytest.mark.parametrize("language", ["uk", "en"])
def test_checks_apart_from_each_other_never_add_up(shop, language):
    agent, context = _at_quantity(language)
    said = {"uk": "Алло?", "en": "Hello?"}[language]
    for answer in ("4", {"uk": "Олена", "en": "Olena"}[language]):
        for _ in range(3):
            assert agent.turn(context, said).action == Action.CONTINUE
        assert agent.turn(context, answer).action == Action.CONTINUE
    assert agent.turn(context, said).action == Action.CONTINUE


@pytest.mark.parametrize(("language", "said"), [("uk", "Алло"), ("ru", "Здравствуйте"),
                                                ("en", "Hello")])  # fmt: skip
def test_a_greeting_right_after_the_bots_is_answered_with_what_it_can_do(shop, language, said):
    agent, context = _caller(language)
    reply = agent.turn(context, said)
    assert reply.text.endswith(say("help", language)) and not reply.text.startswith(
        say("sorry", language)
    )
    assert agent.turn(context, SIZE[language]).text.startswith(
        {"uk": "У розмірі", "ru": "В размере", "en": "For"}[language]
    )


def test_a_greeting_with_more_said_is_heard_for_the_rest(shop):
    agent, context = _caller("uk")
    reply = agent.turn(context, "Добрий день, мені " + SIZE["uk"])
    assert reply.text.startswith("У розмірі 205/55 R16")


@pytest.mark.parametrize(
    ("language", "said", "answer"),
    [
        ("uk", "Можна англійською?", "На жаль, англійською ми не розмовляємо, лише українською "
         "та російською."),
        ("uk", "Do you speak English?", "На жаль, англійською ми не розмовляємо, лише "
         "українською та російською."),
        ("ru", "А можно на английском?", "К сожалению, на английском мы не говорим, только на "
         "украинском и на русском."),
        ("ru", "говорите по-английски?", "К сожалению, на английском мы не говорим, только на "
         "украинском и на русском."),
    ],
)  # fmt: skip
def test_a_language_the_shop_does_not_speak_is_answered_with_those_it_does(
    shop, language, said, answer
):
    agent, context = _at_quantity(language)
    reply = agent.turn(context, said)
    assert reply.text == f"{answer} {say('ask_quantity', language)}"
    assert context.language == language
    # The order goes on.
    assert agent.turn(context, "4").text == say("ask_name", language)
    # Asked again: an operator takes the call.
    again = agent.turn(context, said)
    assert again.action == Action.TRANSFER
    assert answer.split(",")[0] in again.text


def test_a_shop_of_one_language_names_only_it(shop, settings):
    settings.CALL_LANGUAGES, settings.CALL_LANGUAGE = ["uk"], "uk"
    agent, context = _caller("uk")
    reply = agent.turn(context, "А можна російською?")
    assert reply.text == (
        f"На жаль, російською ми не розмовляємо, лише українською. {say('help', 'uk')}"
    )


@pytest.mark.parametrize(
    ("language", "wait", "answer"),
    [("uk", "зачекайте", "Звісно, чекаю."), ("uk", "хвилинку", "Звісно, чекаю."),
     ("ru", "подождите минутку", "Конечно, жду."), ("ru", "щас", "Конечно, жду."),
     ("en", "one moment", "Sure, take your time.")],
)  # fmt: skip
def test_one_moment_at_the_name_is_waited_for_and_is_no_name(shop, language, wait, answer):
    agent, context = _at_quantity(language)
    assert agent.turn(context, "4").text == say("ask_name", language)
    assert agent.turn(context, wait).text == answer
    assert "name" not in context.state
    name = {"uk": "олена", "ru": "света", "en": "anna"}[language]
    assert agent.turn(context, name).text == say("ask_phone", language)
    assert context.state["name"].lower() == name


@pytest.mark.parametrize(
    ("language", "said", "name"),
    [("uk", "олена", "Олена"), ("uk", "сергій петрович", "Сергій Петрович"),
     ("uk", "петро", "Петро"), ("uk", "ярослава", "Ярослава"), ("ru", "олена", "Олена"),
     ("ru", "сергей петрович", "Сергей Петрович"), ("ru", "роман.", "Роман")],
)  # fmt: skip
def test_a_bare_lower_case_name_is_taken_when_the_name_is_asked(shop, language, said, name):
    agent, context = _at_quantity(language)
    agent.turn(context, "4")
    assert agent.turn(context, said).text == say("ask_phone", language)
    assert context.state["name"] == name


@pytest.mark.parametrize(
    ("language", "said"),
    [("uk", "чотири"), ("uk", "так"), ("uk", "нокіан"), ("uk", "данлоп"), ("uk", "скажіть"),
     ("uk", "дві"), ("ru", "четыре"), ("ru", "да"), ("ru", "нокиан"), ("ru", "подскажите"),
     ("en", "four"), ("en", "yes"), ("en", "dunlop")],
)  # fmt: skip
def test_no_number_yes_brand_or_common_word_is_taken_for_a_name(shop, language, said):
    agent, context = _at_quantity(language)
    agent.turn(context, "4")
    assert agent.turn(context, said).text.endswith(say("ask_name", language))
    assert "name" not in context.state


def test_what_else_is_said_with_the_language_request_is_taken(shop):
    agent, context = _caller("uk")
    reply = agent.turn(context, "можна англійською? мені зимові 205 55 16")
    assert reply.text.startswith(
        "На жаль, англійською ми не розмовляємо, лише українською та російською. "
        "У розмірі 205/55 R16 є:"
    ), reply.text


def test_an_operator_asked_for_with_the_language_is_given(shop):
    agent, context = _caller("uk")
    reply = agent.turn(context, "можна англійською або з оператором")
    assert reply.action == Action.TRANSFER
    assert reply.text.startswith("На жаль, англійською ми не розмовляємо")
