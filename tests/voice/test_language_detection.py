"""Each engine tells which of the shop's languages it heard, never another, at no extra
transcription: the embedded Whisper on human Russian telephone recordings (Debian's
asterisk-core-sounds-ru-wav) and on espeak-ng's Ukrainian and Russian; Google through
alternativeLanguageCodes; an OpenAI-compatible server with `language` left open. No human
Ukrainian recording exists in the registries: Ukrainian is synthetic here."""

import pytest

from calls.language import CallLanguage
from calls.voice.google_cloud import GoogleSTTEngine
from calls.voice.openai_api import OpenAISTTEngine
from calls.voice.stt import FasterWhisperEngine
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.voices import caller_voice, human_recording

UK_RU = ("uk", "ru")


@pytest.fixture(scope="module")
def whisper():
    return FasterWhisperEngine("base", window_margin=2.0)


class _CountingEncoder:
    """CTranslate2's Whisper with its encoder calls counted."""

    def __init__(self, real) -> None:
        self.real, self.encodings = real, 0

    def __getattr__(self, name):
        return getattr(self.real, name)

    def encode(self, *args, **kwargs):
        self.encodings += 1
        return self.real.encode(*args, **kwargs)


# Sentences of 1.5 s and more: what a caller's first words are like.
RUSSIAN_SENTENCES = [
    "agent-loggedoff",
    "call-forwarding",
    "check-number-dial-again",
    "agent-alreadyon",
    "at-tone-time-exactly",
]


@pytest.mark.parametrize("name", RUSSIAN_SENTENCES)
def test_a_russian_caller_is_heard_as_russian_in_a_call_greeted_in_ukrainian(whisper, name):
    pcm = human_recording("ru", name)
    heard = whisper.transcribe(pcm, 8000, "uk", detect=UK_RU)
    assert heard.language == "ru" and set(heard.language_probs) == set(UK_RU), heard
    call = CallLanguage(UK_RU)
    decision = call.hear(
        heard.text, heard_as=heard.language, probs=heard.language_probs, seconds=len(pcm) / 16000
    )
    assert decision.changed and call.language == "ru", heard


def test_a_caller_who_goes_on_in_russian_mid_call_is_followed_at_the_second_sentence(whisper):
    """A call settled in Ukrainian; the caller then speaks Russian (human recordings): one
    sentence is not yet a switch, the second is, and recognition is then asked in Russian."""
    call = CallLanguage(UK_RU)
    call.hear("Добрий день, мені потрібні зимові шини")
    decisions = []
    for name in ["call-forwarding", "check-number-dial-again"]:
        pcm = human_recording("ru", name)
        heard = whisper.transcribe(pcm, 8000, call.language, detect=call.detect)
        decisions.append(
            call.hear(heard.text, heard_as=heard.language, probs=heard.language_probs,
                      seconds=len(pcm) / 16000)
        )  # fmt: skip
    assert [d.changed for d in decisions] == [False, True] and call.language == "ru"


@pytest.mark.parametrize("name", ["vm-no", "auth-thankyou", "hello", "digits/2", "digits/5"])
def test_a_short_russian_word_alone_does_not_flip_a_ukrainian_call(whisper, name):
    pcm = human_recording("ru", name)
    heard = whisper.transcribe(pcm, 8000, "uk", detect=UK_RU)
    assert heard.language in UK_RU
    call = CallLanguage(UK_RU)
    call.hear(
        heard.text, heard_as=heard.language, probs=heard.language_probs, seconds=len(pcm) / 16000
    )
    assert call.language == "uk", heard


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("uk", "Добрий день, мені потрібні зимові шини"),
        ("uk", "Так"),
        ("uk", "Алло"),
        ("ru", "Здравствуйте, мне нужны зимние шины"),
        ("ru", "Да"),
        ("ru", "Алло"),
    ],
)
@pytest.mark.parametrize("allowed", [UK_RU, ("ru", "uk")])
def test_synthetic_speech_never_leaves_the_allowed_set(whisper, language, text, allowed):
    """espeak-ng's robotic Ukrainian and Russian: Whisper base is sure of no language on them
    (docs/engines.md), so the engine decodes in the call's own and the call stays put."""
    pcm = caller_voice(text, 8000, language)
    heard = whisper.transcribe(pcm, 8000, allowed[0], detect=allowed)
    assert heard.language in allowed and set(heard.language_probs) == set(allowed)
    call = CallLanguage(allowed)
    call.hear(heard.text, heard_as=heard.language, probs=heard.language_probs, seconds=1.0)
    assert call.language in allowed


def test_english_speech_in_a_ukrainian_and_russian_shop_is_never_heard_as_english(whisper):
    pcm = human_recording("en", "check-number-dial-again")
    heard = whisper.transcribe(pcm, 8000, "uk", detect=UK_RU)
    assert heard.language in UK_RU and "en" not in heard.language_probs


def test_detection_costs_no_extra_encoding(whisper, monkeypatch):
    """The language is read off the encoder output that the decoding then reuses: one
    encoding with detection, as without."""
    counting = _CountingEncoder(whisper._model.model)
    monkeypatch.setattr(whisper._model, "model", counting)
    pcm = human_recording("ru", "call-forwarding")
    plain = whisper.transcribe(pcm, 8000, "ru")
    assert counting.encodings == 1
    counting.encodings = 0
    detected = whisper.transcribe(pcm, 8000, "uk", detect=UK_RU)
    assert counting.encodings == 1
    assert detected.language == "ru" and detected.text == plain.text


def test_without_detection_the_transcript_names_no_language(whisper):
    heard = whisper.transcribe(human_recording("ru", "call-forwarding"), 8000, "ru")
    assert heard.language is None and heard.language_probs is None


# --- Cloud engines (a local fake of each API) ---------------------------------------------------


@pytest.fixture
def cloud(settings, fake_speech_api):
    settings.GOOGLE_STT_URL, settings.GOOGLE_API_KEY = fake_speech_api.google_url, API_KEY
    settings.STT_API_URL, settings.STT_API_KEY = fake_speech_api.openai_url, API_KEY
    settings.GOOGLE_TTS_URL = fake_speech_api.google_url
    return fake_speech_api


def test_google_is_asked_for_the_other_allowed_languages_and_its_answer_mapped_back(cloud):
    pcm = caller_voice("Здравствуйте, мне нужны зимние шины", 8000, "ru")
    cloud.knows(pcm, "Здравствуйте, мне нужны зимние шины", "ru")
    heard = GoogleSTTEngine().transcribe(pcm, 8000, "uk", detect=UK_RU)
    config = cloud.requests[-1].json["config"]
    assert config["languageCode"] == "uk-UA"
    assert config["alternativeLanguageCodes"] == ["ru-RU"]
    assert heard.language == "ru" and heard.text.startswith("Здравствуйте")


def test_google_without_detection_is_asked_for_one_language(cloud):
    pcm = caller_voice("Так", 8000, "uk")
    cloud.knows(pcm, "Так", "uk")
    heard = GoogleSTTEngine().transcribe(pcm, 8000, "uk")
    assert "alternativeLanguageCodes" not in cloud.requests[-1].json["config"]
    assert heard.language is None and heard.text == "Так"


def test_an_openai_server_detects_with_language_left_open(cloud):
    pcm = caller_voice("Мене звати Олена", 8000, "uk")
    cloud.knows(pcm, "Мене звати Олена", "uk")
    heard = OpenAISTTEngine().transcribe(pcm, 8000, "ru", detect=UK_RU)
    form = cloud.requests[-1].form
    assert "language" not in form and form["response_format"] == "verbose_json"
    assert heard.language == "uk" and heard.text == "Мене звати Олена"
    assert len(cloud.requests) == 1


def test_an_openai_server_that_hears_a_language_outside_the_set_is_asked_again_in_the_calls(
    cloud,
):
    pcm = caller_voice("I need winter tires", 8000, "en")
    cloud.knows(pcm, "I need winter tires", "en")
    heard = OpenAISTTEngine().transcribe(pcm, 8000, "uk", detect=UK_RU)
    first, second = (request.form for request in cloud.requests)
    assert "language" not in first and second["language"] == "uk"
    assert heard.language == "uk"


def test_the_voice_follows_the_calls_language(cloud, settings):
    from calls.voice.google_cloud import GoogleTTSEngine

    settings.TTS_VOICE, settings.TTS_VOICES = "uk-UA-Wavenet-A", {}
    engine = GoogleTTSEngine()
    assert engine.voice_for("uk") == "uk-UA-Wavenet-A"
    assert engine.voice_for("ru") == ""  # never a Ukrainian voice reading Russian
    engine.synthesize("Сколько шин вам нужно?", "ru", 8000)
    assert cloud.requests[-1].json["voice"] == {"languageCode": "ru-RU"}
    settings.TTS_VOICES = {"ru": "ru-RU-Wavenet-D"}
    engine.synthesize("Сколько шин вам нужно?", "ru", 8000)
    assert cloud.requests[-1].json["voice"] == {"languageCode": "ru-RU", "name": "ru-RU-Wavenet-D"}
    assert engine.voice_key("ru") != engine.voice_key("uk")
