"""Speech the TTS engine makes, sent through the telephone path (the call's rate, resampled as
the server does) into the STT engine: the words that matter to a tire shop come out.

espeak-ng's voice is robotic, so callers are simulated speaking a little slowly (130 words a
minute); real voices are recognised better (see docs/engines.md). Robot speech is heard in the
30 s window, as by the test servers (tests/helpers/server_process.py): tiny.en's default, the
utterance's own window, is chosen on human recordings and hears espeak-ng worse ("0 25 55 R15").
"""

import re

import pytest

from calls.agent.understanding import understand
from calls.voice.stt import FasterWhisperEngine, STTError
from calls.voice.tts import EspeakNGEngine
from catalog.services import TireSize


@pytest.fixture(scope="module")
def stt():
    """English calls' engine (tiny.en) in the 30 s window, made here: the process's cached
    engine may have been made by an earlier module with the default window."""
    return FasterWhisperEngine("tiny.en", window_margin=None)


def _heard(stt, text: str, rate: int) -> str:
    caller = EspeakNGEngine(words_per_minute=130)
    pcm = caller.synthesize(text, "en", rate)
    return stt.transcribe(pcm, rate, "en").text


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_tire_size_comes_out_as_its_numbers(rate, stt):
    heard = _heard(stt, "Two hundred five, fifty five, R sixteen", rate)
    # As the bot reads it: at 8 kHz this has come back "205 55 R16." and "2 105 55 R16.".
    reading = understand(heard, "en", asking="size")
    assert reading.size == TireSize(205, 55, 16), heard


@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_phone_number_spoken_in_groups_keeps_every_digit(rate, stt):
    heard = _heard(stt, "My number is zero six seven, one two three, four five, six seven", rate)
    assert "0671234567" in _digits(heard), heard


@pytest.mark.parametrize(
    ("said", "word"),
    [
        ("Yes", "yes"),
        ("No, thank you", "no"),
        ("Michelin", "michelin"),
        ("I need winter tires", "winter"),
    ],
)
@pytest.mark.parametrize("rate", [8000, 16000])
def test_yes_no_brands_and_seasons_are_understood(said, word, rate, stt):
    heard = _heard(stt, said, rate)
    if word in ("yes", "no"):
        # Understood as the bot reads it: "Yes" has come back "Yeah." at 8 kHz, which is a yes.
        reading = understand(heard, "en", asking="confirm")
        assert (reading.yes, reading.no) == (word == "yes", word == "no"), heard
    else:
        assert word in heard.lower(), heard


def test_a_brand_in_a_question_is_understood_on_a_wideband_line(stt):
    assert "continental" in _heard(stt, "Do you have Continental?", 16000).lower()


def test_an_english_only_model_refuses_ukrainian_with_a_clear_error(stt):
    with pytest.raises(STTError, match=r"'tiny\.en' knows only English; set STT_MODEL to base"):
        stt.transcribe(bytes(3200), 8000, "uk")
