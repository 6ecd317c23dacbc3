"""The embedded STT's models: tiny.en for English, the multilingual base (shipped in two pip
packages and joined in memory) for Ukrainian and Russian, chosen by the call language."""

import pytest

from calls.voice.stt import FasterWhisperEngine, STTError
from calls.voice.tts import EspeakNGEngine


@pytest.fixture(scope="module")
def base_model():
    return FasterWhisperEngine("base")


def test_english_calls_get_tiny_en_and_other_languages_the_multilingual_model(settings):
    settings.STT_MODEL = ""
    settings.CALL_LANGUAGE = "en"
    english = FasterWhisperEngine()
    assert english.model_name == "tiny.en" and not english.multilingual
    settings.CALL_LANGUAGE = "uk"
    ukrainian = FasterWhisperEngine()
    assert ukrainian.model_name == "base" and ukrainian.multilingual


@pytest.mark.parametrize("rate", [8000, 16000])
def test_the_joined_multilingual_model_hears_a_tire_size(base_model, rate):
    pcm = EspeakNGEngine(words_per_minute=130).synthesize("I need winter tires", "en", rate)
    assert "winter tires" in base_model.transcribe(pcm, rate, "en").text.lower()


def test_a_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(STTError, match=r"no Whisper model in .*set STT_MODEL to tiny\.en, base"):
        FasterWhisperEngine(str(tmp_path))
