"""The test caller's voice: espeak-ng, slowed a little so Whisper hears every word."""

import functools


@functools.lru_cache(maxsize=64)
def caller_voice(text: str, rate: int = 8000, language: str = "en") -> bytes:
    from calls.voice.tts import EspeakNGEngine

    return EspeakNGEngine(words_per_minute=130).synthesize(text, language, rate)
