"""One server for a Ukrainian shop (CALL_LANGUAGES=uk,ru): each call is greeted in Ukrainian and
goes on in the caller's language, whatever the other calls speak.

On the embedded engines a human Russian caller (Debian's asterisk-core-sounds-ru-wav) is heard
as Russian by Whisper and answered in Russian while a Ukrainian caller on the same server stays
in Ukrainian. Whole orders need more than those recordings say, and Whisper base cannot follow
espeak-ng's Ukrainian or Russian: there the callers' speech goes through Google Speech-to-Text
(the local fake of the API, taught what each clip says, as a cloud engine hears a real voice),
and the bot's voice through Google Text-to-Speech (the fake), whose requests show the language
each sentence was spoken in.
"""

import asyncio
import re
from decimal import Decimal
from functools import cache

import pytest

from calls import prompts
from calls.agent.messages import MESSAGES, digits_spoken, say
from calls.models import Call, TurnRole
from calls.prompts import GREETING, LANGUAGE_SWITCHED, prompt
from catalog.models import Season
from orders.models import Order
from tests.factories import make_brand, make_tire
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns, transcript
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.server_process import start_server
from tests.helpers.voices import caller_voice, human_recording

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ONLY = {"uk": set("іїєґ"), "ru": set("ыэъё")}
SHOP = {"CALL_LANGUAGES": "uk,ru", "AGENT": "rules", "SHOP_NAME": "Шина Плюс"}


@cache
def _phrases(language: str) -> frozenset[str]:
    """The fixed parts of everything the bot says in a language (the agent's messages and the
    prompts, cut at their placeholders), less any the other language says too."""

    def parts(lang: str) -> set[str]:
        texts = [said[lang] for said in MESSAGES.values() if lang in said]
        texts += [said[lang] for said in vars(prompts).values() if isinstance(said, dict)
                  and isinstance(said.get(lang), str)]  # fmt: skip
        return {p.strip() for t in texts for p in re.split(r"\{[^}]*\}", t) if len(p.strip()) >= 8}

    other = "ru" if language == "uk" else "uk"
    return frozenset(parts(language) - parts(other))


def _spoken_in(text: str, language: str) -> bool:
    """The bot's words are that language's: its phrases, and no letter only the other has."""
    other = "ru" if language == "uk" else "uk"
    if ONLY[other] & set(text.lower()):
        return False
    return any(phrase in text for phrase in _phrases(language))


def _ukrainian(text: str) -> bool:
    return _spoken_in(text, "uk")


def _russian(text: str) -> bool:
    return _spoken_in(text, "ru")


async def _call(server) -> AudioSocketClient:
    client = await AudioSocketClient.connect(server.host, server.port, sample_rate=8000)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=1000, first_frame_timeout=60)  # greeting
    return client


async def _say(client: AudioSocketClient, pcm: bytes):
    await client.send_audio(pcm)
    return await client.read_audio_response(silence_gap_ms=1500, first_frame_timeout=60)


async def _in_db(factory):
    return await asyncio.to_thread(factory)


async def test_a_russian_and_a_ukrainian_caller_on_the_embedded_engines_each_hear_their_own(
    tmp_path,
):
    env = {**SHOP, "STT_WINDOW_MARGIN": "2", "TTS_CACHE_DIR": str(tmp_path / "prompts")}
    server = start_server(env=env)
    try:
        russian, ukrainian = await asyncio.gather(_call(server), _call(server))
        russian_words = human_recording("ru", "check-number-dial-again")
        ukrainian_words = caller_voice("Добрий день мені потрібні зимові шини", 8000, "uk")
        await asyncio.gather(_say(russian, russian_words), _say(ukrainian, ukrainian_words))
        await asyncio.gather(russian.hangup(), ukrainian.hangup())
        ru_turns = await ended_call_turns(russian.call_uuid, 3, timeout=60)
        uk_turns = await ended_call_turns(ukrainian.call_uuid, 3, timeout=60)
    finally:
        server.stop()

    greeting = GREETING["uk"].format(shop=SHOP["SHOP_NAME"])
    for turns in (ru_turns, uk_turns):
        assert turns[0].role == TurnRole.BOT and turns[0].text == greeting, transcript(turns)
    heard, answer = ru_turns[1], ru_turns[2]
    assert heard.role == TurnRole.CALLER and "номер" in heard.text.lower(), transcript(ru_turns)
    assert answer.role == TurnRole.BOT and _russian(answer.text), transcript(ru_turns)
    assert uk_turns[2].role == TurnRole.BOT and _ukrainian(uk_turns[2].text), transcript(uk_turns)
    languages = await _in_db(
        lambda: dict(
            Call.objects.filter(uuid__in=[russian.call_uuid, ukrainian.call_uuid]).values_list(
                "uuid", "language"
            )
        )
    )
    assert languages == {russian.call_uuid: "ru", ukrainian.call_uuid: "uk"}


# --- Whole orders, through the cloud engines' local fakes ----------------------------------------

UKRAINIAN_ORDER = [
    "Добрий день мені потрібні зимові шини двісті п'ять п'ятдесят п'ять шістнадцять",
    "Так беру чотири штуки",
    "Мене звати Петро",
    "Нуль шістдесят сім сто двадцять три сорок п'ять шістдесят сім",
    "Самовивіз",
    "Так все правильно",
]
RUSSIAN_ORDER = [
    "Здравствуйте мне нужны зимние шины двести пять пятьдесят пять шестнадцать",
    "Да беру четыре штуки",
    "Меня зовут Елена",
    "Ноль пятьдесят девять восемьсот семьдесят шесть пятьдесят четыре тридцать три",
    "Самовывоз",
    "Да всё верно",
]
# What a recognizer writes down for the numbers.
WRITTEN = {
    UKRAINIAN_ORDER[0]: "Добрий день мені потрібні зимові шини 205 55 R16",
    RUSSIAN_ORDER[0]: "Здравствуйте мне нужны зимние шины 205 55 R16",
    UKRAINIAN_ORDER[3]: "067 123 45 67",
    RUSSIAN_ORDER[3]: "050 987 65 43",
}


@pytest.fixture
def cloud_shop(fake_speech_api, tmp_path):
    michelin = make_brand(name="Michelin", aliases="Мішлен, Мишлен")
    make_tire(brand=michelin, model="X-Ice North 4", price=Decimal("4200"), stock_quantity=20,
              season=Season.WINTER, sku="MIC-XIN4-16")  # fmt: skip
    env = {
        **SHOP,
        "STT_ENGINE": "google",
        "TTS_ENGINE": "google",
        "GOOGLE_STT_URL": fake_speech_api.google_url,
        "GOOGLE_TTS_URL": fake_speech_api.google_url,
        "GOOGLE_API_KEY": API_KEY,
        "TTS_CACHE_DIR": str(tmp_path / "prompts"),
        "SPEECH_API_TIMEOUT": "60",
    }
    server = start_server(env=env)
    yield fake_speech_api, server
    server.stop()


def _taught(api, language: str, lines: list[str]) -> list[bytes]:
    """The caller's clips, each taught to the fake recognizer as what it says."""
    clips = []
    for line in lines:
        pcm = caller_voice(line, 8000, language)
        api.knows(pcm, WRITTEN.get(line, line), language)
        clips.append(pcm)
    return clips


async def _order(server, clips: list[bytes]):
    client = await _call(server)
    for pcm in clips:
        await _say(client, pcm)
    await client.hangup()
    return client.call_uuid


def _spoken_languages(api) -> dict[str, str]:
    """Each sentence the bot had synthesised, and the language it asked Google to speak."""
    return {
        request.json["input"]["text"]: request.json["voice"]["languageCode"]
        for request in api.requests
        if request.path.endswith("text:synthesize")
    }


async def test_a_russian_and_a_ukrainian_caller_on_one_server_each_order_in_their_own_language(
    cloud_shop,
):
    """And a third, at the same time, who starts in Ukrainian and asks for Russian mid-order."""
    api, server = cloud_shop
    ru_clips = _taught(api, "ru", RUSSIAN_ORDER)
    uk_clips = _taught(api, "uk", UKRAINIAN_ORDER)
    switch_clips = _taught(api, "uk", [*UKRAINIAN_ORDER[:2], "Можна російською?"])
    switch_clips += _taught(api, "ru", RUSSIAN_ORDER[2:])
    ru_call, uk_call, switch_call = await asyncio.gather(
        _order(server, ru_clips), _order(server, uk_clips), _order(server, switch_clips)
    )
    ru_turns = await ended_call_turns(ru_call, 13, timeout=60)
    uk_turns = await ended_call_turns(uk_call, 13, timeout=60)
    switch_turns = await ended_call_turns(switch_call, 15, timeout=60)

    orders = await _in_db(
        lambda: {
            uuid: (phone, quantity)
            for uuid, phone, quantity in Order.objects.values_list(
                "source_call__uuid", "customer_phone", "items__quantity"
            )
        }
    )
    numbers = await _in_db(lambda: dict(Order.objects.values_list("source_call__uuid", "number")))
    assert orders[ru_call] == ("+380509876543", 4), transcript(ru_turns)
    assert orders[uk_call] == ("+380671234567", 4), transcript(uk_turns)
    for call, turns, language in ((ru_call, ru_turns, "ru"), (uk_call, uk_turns, "uk")):
        placed = say("placed", language, number=digits_spoken(numbers[call]))
        bot = [turn.text for turn in turns if turn.role == TurnRole.BOT]
        assert any(placed in text for text in bot), transcript(turns)
        # Greeted in Ukrainian, the shop's first language; from the caller's first words on,
        # every reply in theirs.
        assert all(_spoken_in(text, language) for text in bot[1:]), transcript(turns)

    # The caller who asked: Ukrainian up to the request, then "Конечно, ..." and Russian on.
    bot = [turn.text for turn in switch_turns if turn.role == TurnRole.BOT]
    ack = prompt(LANGUAGE_SWITCHED, "ru")
    switched = next(i for i, text in enumerate(bot) if text.startswith(ack))
    assert all(_ukrainian(text) for text in bot[1:switched]), transcript(switch_turns)
    assert bot[switched] == f"{ack} {say('ask_name', 'ru')}", transcript(switch_turns)
    assert all(_russian(text) for text in bot[switched:]), transcript(switch_turns)
    assert orders[switch_call] == ("+380509876543", 4), transcript(switch_turns)

    calls = await _in_db(lambda: dict(Call.objects.values_list("uuid", "language")))
    assert calls == {ru_call: "ru", uk_call: "uk", switch_call: "ru"}
    spoken = _spoken_languages(api)
    assert spoken[say("ask_name", "ru")] == "ru-RU" and spoken[say("ask_name", "uk")] == "uk-UA"
    # Recognition was asked for both languages, the call's own first.
    configs = [r.json["config"] for r in api.requests if r.path.endswith("speech:recognize")]
    assert {(c["languageCode"], *c["alternativeLanguageCodes"]) for c in configs} == {
        ("uk-UA", "ru-RU"),
        ("ru-RU", "uk-UA"),
    }
