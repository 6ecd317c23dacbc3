"""The call's language decision (calls/language.py) on what callers say: the first clear
utterance settles it, a short one never flips it, a request switches at once, a caller who goes
on in another language is followed, surzhyk stays in the language mostly used, and no language
outside the shop's is ever chosen."""

import pytest

from calls.language import (
    CallLanguage,
    evidence,
    requested_language,
    text_scores,
    unspoken_language,
)
from calls.language_settings import shop_languages

UK_RU = ("uk", "ru")

UKRAINIAN = [
    "Добрий день, мені потрібні зимові шини",
    "Двісті п'ять п'ятдесят п'ять шістнадцять, чотири штуки",
    "Мене звати Олена, доставка новою поштою",
    "Скільки коштують ці шини?",
    "Так, все вірно, оформлюйте",
]
RUSSIAN = [
    "Здравствуйте, мне нужны зимние шины",
    "Двести пять пятьдесят пять шестнадцать, четыре штуки",
    "Меня зовут Елена, доставка новой почтой",
    "Сколько стоят эти шины?",
    "Да, всё верно, оформляйте",
]


@pytest.mark.parametrize("text", UKRAINIAN)
def test_a_ukrainian_sentence_is_clearly_ukrainian(text):
    said = evidence(text, UK_RU)
    assert said.language == "uk" and said.clear, said


@pytest.mark.parametrize("text", RUSSIAN)
def test_a_russian_sentence_is_clearly_russian(text):
    said = evidence(text, UK_RU)
    assert said.language == "ru" and said.clear, said


@pytest.mark.parametrize("text", RUSSIAN)
def test_a_russian_caller_moves_a_call_greeted_in_ukrainian_at_the_first_sentence(text):
    call = CallLanguage(UK_RU)
    decision = call.hear(text)
    assert decision.changed and call.language == "ru"


@pytest.mark.parametrize("short", ["Так", "Да", "Алло", "Нет.", "Спасибо.", "Ага", "Угу"])
@pytest.mark.parametrize("first", ["uk", "ru"])
def test_a_short_word_said_in_both_languages_never_flips_a_call(short, first):
    call = CallLanguage((first, *(code for code in UK_RU if code != first)))
    for _ in range(3):
        assert not call.hear(short).changed
    assert call.language == first


def test_short_words_with_sure_acoustics_never_add_up_to_a_switch():
    """Whisper is sure "Да." is Russian; Ukrainian callers say it too."""
    call = CallLanguage(UK_RU)
    for _ in range(4):
        call.hear("Да.", probs={"uk": 0.01, "ru": 0.97}, seconds=0.5)
    assert call.language == "uk"


@pytest.mark.parametrize(
    ("allowed", "answers", "followed"),
    [
        (UK_RU, ["Алло", "205 55 16", "Четыре", "Самовывоз"], "ru"),
        (("ru", "uk"), ["Ні", "Самовивіз"], "uk"),
    ],
)
def test_a_caller_who_answers_in_single_words_of_their_language_is_followed(
    allowed, answers, followed
):
    """No single word moves the call; two that only one language has do, before the call is
    settled."""
    call = CallLanguage(allowed)
    decisions = [call.hear(text) for text in answers]
    assert [d.changed for d in decisions] == [False] * (len(answers) - 1) + [True]
    assert call.language == followed


def test_single_words_do_not_add_up_once_the_call_is_settled():
    call = CallLanguage(UK_RU)
    call.hear(UKRAINIAN[0])
    for text in ["Четыре", "Самовывоз", "Четыре"]:
        assert not call.hear(text).changed
    assert call.language == "uk"


def test_short_russian_words_with_sure_acoustics_still_do_not_flip_a_ukrainian_call():
    """Whisper sure it heard Russian in half a second ("Да.") is still only half a second."""
    call = CallLanguage(UK_RU)
    decision = call.hear("Да.", probs={"uk": 0.01, "ru": 0.97}, seconds=0.5)
    assert not decision.changed and call.language == "uk"


def test_a_long_russian_utterance_heard_acoustically_moves_the_call_without_telltale_letters():
    call = CallLanguage(UK_RU)
    decision = call.hear(
        "Регистрация оператора удалена", probs={"uk": 0.0, "ru": 0.99}, seconds=2.3
    )
    assert decision.changed and call.language == "ru"


def test_an_engine_that_only_names_the_language_is_heard():
    call = CallLanguage(UK_RU)
    assert call.hear("Регистрация оператора удалена", heard_as="ru").changed
    assert call.language == "ru"


def test_a_caller_who_goes_on_in_another_language_is_followed_after_two_clear_utterances():
    call = CallLanguage(UK_RU)
    assert not call.hear(UKRAINIAN[0]).changed  # settles Ukrainian
    assert not call.hear(RUSSIAN[1]).changed  # one Russian sentence is not yet a switch
    decision = call.hear(RUSSIAN[2])
    assert decision.changed and not decision.requested and call.language == "ru"
    # ...and back again the same way.
    call.hear(UKRAINIAN[3])
    assert call.hear(UKRAINIAN[4]).changed and call.language == "uk"


def test_surzhyk_stays_in_the_language_the_caller_mostly_uses():
    call = CallLanguage(UK_RU)
    call.hear(UKRAINIAN[0])
    mixed = [
        "Мені треба резина, ну такі зимові, двести пять",
        "Да, давайте, чотири штуки",
        "Доставка на Київ, будь ласка",
        "Ну шо, сколько будет стоить?",
        "Добре, записуйте",
    ]
    for text in mixed:
        call.hear(text)
        assert call.language == "uk", text


@pytest.mark.parametrize(
    ("text", "current", "wanted"),
    [
        ("Можна російською?", "uk", "ru"),
        ("А можна по-російськи?", "uk", "ru"),
        ("Говорите по-русски?", "uk", "ru"),
        ("Давайте на русском", "uk", "ru"),
        ("Можно по-украински?", "ru", "uk"),
        ("Можна українською, будь ласка", "ru", "uk"),
        ("Я не понимаю украинский", "uk", "ru"),
        ("Я не розумію російською", "ru", "uk"),
    ],
)
def test_a_caller_who_asks_for_a_language_gets_it(text, current, wanted):
    call = CallLanguage((current, *(code for code in UK_RU if code != current)))
    decision = call.hear(text)
    assert decision.changed and decision.requested and call.language == wanted


def test_english_on_request_only_where_the_shop_speaks_it():
    assert requested_language("In English please", "uk", ("uk", "ru", "en")) == "en"
    assert requested_language("In English please", "uk", UK_RU) is None
    call = CallLanguage(UK_RU)
    assert not call.hear("In English please").changed and call.language == "uk"


def test_a_long_sentence_that_names_a_language_is_not_a_request():
    text = "Я вчора купив у вас шини і продавець говорив російською, але все було добре дякую"
    assert requested_language(text, "uk", UK_RU) is None


@pytest.mark.parametrize(
    "text", [*UKRAINIAN, *RUSSIAN, "I need winter tires please", "Michelin", "Так", ""]
)
@pytest.mark.parametrize("allowed", [UK_RU, ("ru", "uk"), ("uk",), ("ru", "en")])
def test_no_language_outside_the_allowed_set_is_ever_chosen(text, allowed):
    call = CallLanguage(allowed)
    call.hear(text, heard_as="en", probs={"en": 0.9, "uk": 0.05, "ru": 0.05}, seconds=3)
    assert call.language in allowed
    assert evidence(text or "x", allowed).language in allowed
    assert set(text_scores(text, allowed)[0]) == set(allowed)


def test_an_english_shop_with_one_language_never_changes():
    call = CallLanguage(("en",))
    assert call.detect == ()
    assert not call.hear(RUSSIAN[0], heard_as="ru").changed and call.language == "en"


def test_call_languages_lists_the_shops_languages_and_call_language_is_the_shorthand(settings):
    settings.CALL_LANGUAGES, settings.CALL_LANGUAGE = ["uk", "ru"], "uk"
    assert shop_languages() == ("uk", "ru")
    settings.CALL_LANGUAGE = "en"  # changed alone: one language
    assert shop_languages() == ("en",)


@pytest.mark.parametrize(
    ("settled_by", "text"),
    [
        (RUSSIAN[0], "А украинские шины есть?"),
        (RUSSIAN[0], "Шины украинского производства есть?"),
        (RUSSIAN[0], "Мне нужна украинская резина"),
        (UKRAINIAN[0], "А є російські шини?"),
        (UKRAINIAN[0], "Маєте шини українського виробництва?"),
        (UKRAINIAN[0], "Мені потрібна українська гума"),
    ],
)
def test_asking_for_tires_made_in_a_country_is_no_request_for_its_language(settled_by, text):
    """Rosava is Ukrainian-made: a Russian-speaking caller who asks for Ukrainian tires goes on
    in Russian (and the other way round)."""
    call = CallLanguage(UK_RU)
    call.hear(settled_by)
    spoken = call.language
    decision = call.hear(text)
    assert not decision.requested and not decision.changed and call.language == spoken


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Не понимаю, можно по-русски?", "ru"),
        ("Я не понимаю, говорите по-русски", "ru"),
        ("Не розумію, можна російською?", "ru"),
        ("Я не понимаю украинского", "ru"),
        ("Не знаю української, давайте російською", "ru"),
    ],
)
def test_a_caller_who_did_not_understand_and_asks_for_a_language_gets_it(text, wanted):
    """ "Не понимаю, можно по-русски?": the language named after the comma is the one asked
    for, not one the caller does not understand."""
    call = CallLanguage(UK_RU)
    call.hear(UKRAINIAN[0])
    decision = call.hear(text)
    assert decision.changed and decision.requested and call.language == wanted


@pytest.mark.parametrize(
    ("settled_by", "text"),
    [(RUSSIAN[0], "Вы говорите по-русски?"), (UKRAINIAN[0], "Можна українською?")],
)
def test_asking_for_the_language_the_call_is_in_is_a_request_to_answer(settled_by, text):
    """The bot says it speaks it and asks its question again, instead of not understanding."""
    call = CallLanguage(UK_RU)
    call.hear(settled_by)
    spoken = call.language
    decision = call.hear(text)
    assert decision.requested and not decision.changed and call.language == spoken


def test_a_ukrainian_caller_who_says_allo_first_is_followed_in_a_shop_greeting_in_russian():
    """ "Алло" is said by Ukrainian and Russian callers alike: it is no evidence of Russian."""
    call = CallLanguage(("ru", "uk"))
    decision = call.hear("Алло, добрий день")
    assert decision.changed and call.language == "uk"


@pytest.mark.parametrize(
    ("text", "allowed", "unspoken"),
    [
        ("Можна англійською?", UK_RU, "en"),
        ("А можно на английском?", UK_RU, "en"),
        ("Do you speak English?", UK_RU, "en"),
        ("English, please", UK_RU, "en"),
        ("Говорите по-английски?", UK_RU, "en"),
        ("А можно по-русски?", ("uk",), "ru"),
        ("Можна російською?", UK_RU, None),  # spoken: a switch, not a refusal
        ("Do you speak English?", ("uk", "en"), None),
        ("А є англійські шини?", UK_RU, None),  # tires made there, no language asked for
        ("Мені зимові шини двісті п'ять п'ятдесят п'ять, скажіть англійською як це", UK_RU, None),
    ],
)
def test_a_language_the_shop_does_not_speak_is_told_apart(text, allowed, unspoken):
    """A request for a language outside the shop's is found (the agent answers it with the
    languages the shop speaks); one the shop speaks, or words of a longer sentence, are not."""
    assert unspoken_language(text, allowed) == unspoken
