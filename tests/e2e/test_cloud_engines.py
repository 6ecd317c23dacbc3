"""The real server on the cloud engines (a local fake of each API, tests only): a call is heard
through Google Speech-to-Text and answered through the OpenAI speech API, and the fixed prompts
rendered ahead of time play from the store while the TTS API is down."""

from io import StringIO

import pytest
from django.core.management import call_command

from calls.models import Call, TurnRole
from calls.prompts import GREETING, prompt, split_sentences
from calls.voice.audio import duration_ms
from calls.voice.tts import EspeakNGEngine, get_tts_engine
from calls.voice.tts_cache import PromptStore
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.server_process import start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.fixture
def cloud_env(fake_speech_api, tmp_path):
    return {
        "STT_ENGINE": "google",
        "GOOGLE_STT_URL": fake_speech_api.google_url,
        "GOOGLE_API_KEY": API_KEY,
        "TTS_ENGINE": "openai",
        "TTS_API_URL": fake_speech_api.openai_url,
        "TTS_API_KEY": API_KEY,
        "TTS_CACHE_DIR": str(tmp_path / "prompts"),
        "CALL_LANGUAGE": "en",
        "AGENT": "repeat",
        # The fake APIs run Whisper and espeak-ng on this machine: seconds when it is busy.
        "SPEECH_API_TIMEOUT": "60",
    }


async def test_a_call_on_cloud_engines_is_heard_and_answered(fake_speech_api, cloud_env):
    server = start_server(env=cloud_env)
    try:
        client = await AudioSocketClient.connect(server.host, server.port)
        client.start_background_silence()
        greeting = await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
        caller = EspeakNGEngine(words_per_minute=130).synthesize("I need winter tires", "en", 8000)
        await client.send_audio(caller)
        reply = await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
        await client.hangup()
        _, heard, answer = await ended_call_turns(client.call_uuid, 3)
    finally:
        server.stop()

    assert greeting.duration_ms > 1000 and reply.duration_ms > 1000
    assert heard.role == TurnRole.CALLER and "winter tires" in heard.text.lower(), heard.text
    assert heard.confidence == 0.91  # Google's confidence, carried to the Turn row
    assert answer.text.startswith("I heard: ") and answer.total_ms is not None
    paths = [request.path for request in fake_speech_api.requests]
    assert "/google/v1/speech:recognize" in paths
    assert "/openai/v1/audio/speech" in paths


async def test_prompts_play_from_the_store_while_the_tts_api_is_down(
    fake_speech_api, cloud_env, settings
):
    settings.TTS_ENGINE = "openai"
    settings.TTS_API_URL, settings.TTS_API_KEY = fake_speech_api.openai_url, API_KEY
    settings.TTS_CACHE_DIR = cloud_env["TTS_CACHE_DIR"]
    get_tts_engine.cache_clear()
    try:
        call_command("render_prompts", "--language", "en", stdout=StringIO())
        engine = get_tts_engine()
        store = PromptStore(settings.TTS_CACHE_DIR)
        stored_ms = sum(
            duration_ms(store.load(engine, sentence, "en", 8000), 8000)
            for sentence in split_sentences(prompt(GREETING, "en"))
        )
    finally:
        get_tts_engine.cache_clear()
    rendered = len(fake_speech_api.requests)
    fake_speech_api.down.add("/openai/v1/audio/speech")  # the TTS API is down from now on

    server = start_server(env=cloud_env)
    try:
        client = await AudioSocketClient.connect(server.host, server.port)
        client.start_background_silence()
        greeting = await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=15)
        await client.hangup()
        (turn,) = await ended_call_turns(client.call_uuid, 1)
    finally:
        server.stop()

    assert turn.role == TurnRole.BOT and "How can I help you" in turn.text
    # The whole greeting played (sentence gaps are silence inside it), none of it synthesised.
    assert greeting.duration_ms >= stored_ms - 400
    assert len(fake_speech_api.requests) == rendered


async def test_a_reply_the_tts_cannot_speak_becomes_an_apology_and_a_transfer(
    fake_speech_api, cloud_env
):
    server = start_server(env=cloud_env)
    try:
        client = await AudioSocketClient.connect(server.host, server.port)
        client.start_background_silence()
        await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
        fake_speech_api.down.add("/openai/v1/audio/speech")
        caller = EspeakNGEngine(words_per_minute=130).synthesize("I need winter tires", "en", 8000)
        await client.send_audio(caller)
        apology = await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
        await client.wait_closed(timeout=30)  # the bot hangs up: Asterisk takes the call on
        turns = await ended_call_turns(client.call_uuid, 3)
    finally:
        server.stop()

    assert apology.duration_ms > 2000
    assert "winter tires" in turns[1].text.lower()
    assert turns[-1].role == TurnRole.BOT and "operator" in turns[-1].text
    call = await Call.objects.aget(uuid=client.call_uuid)
    assert call.outcome == "transferred" and call.end_reason == "text-to-speech failed"
    assert "text-to-speech failed" in server.log


async def test_a_caller_who_hangs_up_while_the_next_sentence_is_synthesised_heard_only_the_first(
    fake_speech_api, cloud_env
):
    """The reply plays sentence by sentence as each is synthesised; the caller hangs up after
    the first while the TTS API is still on the second. The bot's turn holds what was played,
    not the whole reply."""
    said = "I need winter tires. Do you have Nokian?"
    caller = EspeakNGEngine(words_per_minute=130).synthesize(said, "en", 8000)
    fake_speech_api.knows(caller, said, "en")
    fake_speech_api.slow_for["Do you have Nokian"] = 20.0
    server = start_server(env=cloud_env)
    try:
        client = await AudioSocketClient.connect(server.host, server.port)
        client.start_background_silence()
        await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
        await client.send_audio(caller)
        first = await client.read_audio_response(silence_gap_ms=1500, first_frame_timeout=30)
        await client.hangup()
        turns = await ended_call_turns(client.call_uuid, 3)
    finally:
        server.stop()

    heard, reply = turns[1], turns[2]
    assert heard.text == said and first.duration_ms > 1000
    assert reply.role == TurnRole.BOT and reply.interrupted, reply.text
    assert "winter tires" in reply.text and "Nokian" not in reply.text, reply.text
