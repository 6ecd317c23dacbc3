"""The cloud speech engines against a local server that speaks each API (tests/helpers/
fake_speech_api.py), with real speech behind it: what the bot says through a cloud TTS engine
reaches the call's rate and is understood by a cloud STT engine; keys, languages and rates go
where each API wants them; failures become clear STT/TTS errors."""

import re

import pytest

from calls.voice.audio import duration_ms, pcm_from_wav, peak, wav_bytes
from calls.voice.google_cloud import GoogleSTTEngine, GoogleTTSEngine
from calls.voice.openai_api import OpenAISTTEngine, OpenAITTSEngine
from calls.voice.stt import STTError, get_stt_engine
from calls.voice.tts import TTSError, get_tts_engine
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.voices import caller_voice


@pytest.fixture(autouse=True)
def _time_for_the_fake_to_think(settings):
    """The fake APIs run Whisper and espeak-ng on this machine, which a busy machine (or the
    model's first load in this process) slows to many seconds: the production time-out of 5 s
    is not what these tests check. The time-out test sets its own."""
    settings.SPEECH_API_TIMEOUT = 60


@pytest.fixture
def openai(fake_speech_api, settings):
    settings.OPENAI_API_URL = settings.STT_API_URL = settings.TTS_API_URL = (
        fake_speech_api.openai_url
    )
    settings.STT_API_KEY = settings.TTS_API_KEY = API_KEY
    return fake_speech_api


@pytest.fixture
def google(fake_speech_api, settings):
    settings.GOOGLE_STT_URL = settings.GOOGLE_TTS_URL = fake_speech_api.google_url
    settings.GOOGLE_API_KEY = API_KEY
    return fake_speech_api


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("response_format", ["pcm", "wav"])
def test_openai_speech_reaches_the_call_rate_and_is_understood_by_openai_transcription(
    openai, rate, response_format
):
    tts = OpenAITTSEngine(response_format=response_format)
    pcm = tts.synthesize("Two hundred five, fifty five, R sixteen.", "en", rate)
    # About two seconds of audible speech at the call's rate, not 24 kHz audio mislabelled.
    assert 1500 < duration_ms(pcm, rate) < 6000
    assert peak(pcm) > 1000

    heard = OpenAISTTEngine().transcribe(pcm, rate, "en")
    # Audio at the wrong rate would come back as nonsense; the size's digits come back. The
    # first one is left to Whisper tiny on espeak at 8 kHz, which has written "2 105" for "205"
    # (espeak's voice varies with what the process synthesised before: the test order).
    assert re.search(r"05\D+55\D+R?16", heard.text), heard.text

    speech, transcription = openai.requests
    assert speech.json == {
        "model": "tts-1",
        "input": "Two hundred five, fifty five, R sixteen.",
        "voice": "alloy",
        "response_format": response_format,
    }
    assert transcription.headers["authorization"] == f"Bearer {API_KEY}"
    assert transcription.form["model"] == "whisper-1"
    assert transcription.form["language"] == "en"
    assert "205/55 R16" in transcription.form["prompt"]
    # The utterance is uploaded as a WAV at the call's own rate.
    assert pcm_from_wav(transcription.files["file"]) == (pcm, rate)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_google_speech_is_synthesised_at_the_call_rate_and_recognised(google, rate):
    pcm = GoogleTTSEngine().synthesize(
        "My number is zero six seven, one two three, four five, six seven", "en", rate
    )
    assert 1500 < duration_ms(pcm, rate) < 8000

    heard = GoogleSTTEngine().transcribe(pcm, rate, "en")
    assert "0671234567" in re.sub(r"\D", "", heard.text), heard.text
    assert heard.confidence == 0.91

    synthesis, recognition = google.requests
    assert synthesis.json["audioConfig"] == {"audioEncoding": "LINEAR16", "sampleRateHertz": rate}
    assert synthesis.json["voice"] == {"languageCode": "en-US"}
    config = recognition.json["config"]
    assert config["encoding"] == "LINEAR16" and config["sampleRateHertz"] == rate
    assert "Michelin" in config["speechContexts"][0]["phrases"]
    # The key travels in a header, never in the URL where logs would keep it.
    assert recognition.headers["x-goog-api-key"] == API_KEY
    assert API_KEY not in recognition.path


@pytest.mark.parametrize(("language", "code"), [("uk", "uk-UA"), ("ru", "ru-RU")])
def test_google_engines_ask_for_the_call_language(google, settings, language, code):
    settings.TTS_VOICE = f"{code}-Wavenet-A"
    GoogleTTSEngine().synthesize("Michelin", language, 8000)
    GoogleSTTEngine().transcribe(caller_voice("Michelin", 8000), 8000, language)
    synthesis, recognition = google.requests
    assert synthesis.json["voice"] == {"languageCode": code, "name": f"{code}-Wavenet-A"}
    assert recognition.json["config"]["languageCode"] == code


def test_the_cloud_engines_are_told_what_the_agent_expects(openai, google):
    """A Whisper server gets the slot's prompt (a phone number digit by digit, no digits for a
    name); Google gets the slot's phrase hints, and none for a name."""
    yes = caller_voice("yes", 8000)
    OpenAISTTEngine().transcribe(yes, 8000, "uk", expect="phone")
    OpenAISTTEngine().transcribe(yes, 8000, "en", expect="name")
    phone, name = openai.requests
    assert re.search(r"\b0 \d \d \d \d \d \d \d \d \d\b", phone.form["prompt"])  # digit by digit
    assert phone.form["language"] == "uk"
    assert not any(character.isdigit() for character in name.form["prompt"])

    google.requests.clear()
    GoogleSTTEngine().transcribe(yes, 8000, "ru", expect="confirm")
    GoogleSTTEngine().transcribe(yes, 8000, "en", expect="name")
    confirm, name = google.requests
    assert {"да", "нет"} <= set(confirm.json["config"]["speechContexts"][0]["phrases"])
    assert "speechContexts" not in name.json["config"]


def test_engines_are_chosen_by_settings(openai, google, settings):
    get_stt_engine.cache_clear()
    get_tts_engine.cache_clear()
    try:
        settings.STT_ENGINE, settings.TTS_ENGINE = "google", "openai"
        assert isinstance(get_stt_engine(), GoogleSTTEngine)
        assert isinstance(get_tts_engine(), OpenAITTSEngine)
    finally:
        get_stt_engine.cache_clear()
        get_tts_engine.cache_clear()


def test_a_wrong_key_is_a_clear_error_naming_the_api_and_its_reason(openai, google, settings):
    settings.STT_API_KEY = settings.GOOGLE_API_KEY = "wrong"
    with pytest.raises(STTError, match=r"openai transcription: HTTP 401: Incorrect API key"):
        OpenAISTTEngine().transcribe(caller_voice("yes", 8000), 8000, "en")
    with pytest.raises(TTSError, match=r"google text-to-speech: HTTP 400: API key not valid"):
        GoogleTTSEngine().synthesize("Hello", "en", 8000)


def test_a_busy_api_is_tried_once_more_then_given_up(openai):
    engine = OpenAITTSEngine()
    openai.fail_next(503)
    assert peak(engine.synthesize("Hello.", "en", 8000)) > 1000
    assert len(openai.requests) == 2

    openai.requests.clear()
    openai.fail_next(503, count=2)
    with pytest.raises(TTSError, match="HTTP 503: The server is overloaded"):
        engine.synthesize("Hello.", "en", 8000)
    assert len(openai.requests) == 2


def test_a_slow_api_times_out_without_a_second_wait(openai, google, settings):
    settings.SPEECH_API_TIMEOUT = 0.3
    openai.delay = 1.0
    with pytest.raises(STTError, match="no answer in time"):
        OpenAISTTEngine().transcribe(caller_voice("yes", 8000), 8000, "en")
    with pytest.raises(TTSError, match="no answer in time"):
        GoogleTTSEngine().synthesize("Hello", "en", 8000)
    # A caller is waiting: a read time-out is not retried.
    assert len(openai.requests) == 2


def test_an_unreachable_api_is_a_clear_error(settings):
    settings.GOOGLE_STT_URL = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    with pytest.raises(STTError, match="google speech-to-text: cannot reach"):
        GoogleSTTEngine().transcribe(caller_voice("yes", 8000), 8000, "en")


def test_silence_is_recognised_as_nothing(google):
    assert GoogleSTTEngine().transcribe(bytes(16000), 8000, "en").text == ""


def test_an_answer_without_audio_is_a_clear_error(openai, google, monkeypatch):
    monkeypatch.setattr(
        openai, "google_synthesize", lambda request: (200, "application/json", b'{"x": 1}')
    )
    with pytest.raises(TTSError, match="google text-to-speech: the audio cannot be read"):
        GoogleTTSEngine().synthesize("Hello", "en", 8000)
    monkeypatch.setattr(openai, "openai_speech", lambda request: (200, "audio/wav", b"RIFF"))
    with pytest.raises(TTSError, match="openai speech: the audio cannot be read"):
        OpenAITTSEngine(response_format="wav").synthesize("Hello", "en", 8000)


def test_a_wav_from_a_streaming_server_is_read_to_its_end():
    pcm = bytes(range(256)) * 10
    wav = bytearray(wav_bytes(pcm, 22050))
    wav[40:44] = b"\xff\xff\xff\xff"  # the data length a streaming server cannot know
    assert pcm_from_wav(bytes(wav)) == (pcm, 22050)
    with pytest.raises(ValueError, match="not a WAV"):
        pcm_from_wav(b"ID3 not a wav at all")
