"""The test caller's voices: espeak-ng, slowed a little so Whisper hears every word, and for
Russian Festival's unit-selection voice (Debian's festvox-ru, a recorded human speaker cut into
units): Whisper base hears espeak-ng's Russian and Ukrainian as noise (docs/engines.md)."""

import functools
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

# Human telephone recordings: Debian's asterisk-core-sounds-*-wav (install-system-packages.sh).
HUMAN_SOUNDS = Path("/usr/share/asterisk/sounds")


def human_recording(language: str, name: str) -> bytes:
    """A telephone recording of a human speaker (8 kHz), as an Asterisk call would carry it."""
    import pytest

    from calls.voice.audio import pcm_from_wav

    path = HUMAN_SOUNDS / language / f"{name}.wav"
    if not path.is_file():
        pytest.skip(f"install asterisk-core-sounds-{language}-wav for {path}")
    pcm, rate = pcm_from_wav(path.read_bytes())
    assert rate == 8000
    return pcm


@functools.lru_cache(maxsize=64)
def caller_voice(text: str, rate: int = 8000, language: str = "en") -> bytes:
    from calls.voice.tts import EspeakNGEngine

    return EspeakNGEngine(words_per_minute=130).synthesize(text, language, rate)


FESTIVAL_RUSSIAN = "voice_msu_ru_nsh_clunits"


@functools.lru_cache(maxsize=64)
def russian_caller_voice(text: str, rate: int = 8000) -> bytes:
    """Russian speech from Festival (tests/install-system-packages.sh installs it)."""
    from calls.voice.audio import resample

    if shutil.which("text2wave") is None:
        raise RuntimeError("no Festival: run tests/install-system-packages.sh (festvox-ru)")
    with tempfile.TemporaryDirectory() as folder:
        source, output = Path(folder) / "text.txt", Path(folder) / "speech.wav"
        source.write_text(text, encoding="utf-8")
        subprocess.run(
            ["text2wave", "-eval", f"({FESTIVAL_RUSSIAN})", str(source), "-o", str(output)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        with wave.open(str(output)) as speech:
            pcm, native = speech.readframes(speech.getnframes()), speech.getframerate()
    return resample(pcm, native, rate)
