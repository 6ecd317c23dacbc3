"""Text-to-speech: the TTSEngine interface, the embedded espeak-ng engine, the engine registry."""

import ctypes
import threading
from abc import ABC, abstractmethod
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .audio import resample


class TTSError(RuntimeError):
    """The engine could not synthesise the text; the message says why."""


class TTSEngine(ABC):
    """Text in, 16-bit mono PCM at the asked sample rate out.

    `synthesize` is blocking and CPU- or network-bound: callers on the event loop run it in an
    executor. Engines are built once per process (see `get_tts_engine`).
    """

    name: str = "tts"
    # Runs on this machine (CPU-bound): a thread or two. A remote engine waits on the network
    # and gets a thread per connection of its pool (calls/audiosocket/server.py).
    local: bool = False

    @abstractmethod
    def synthesize(self, text: str, language: str, sample_rate: int) -> bytes: ...

    def voice_key(self, language: str) -> str:
        """What, besides the text, language and rate, changes the sound: part of cache keys."""
        return language


# espeak-ng's C API (speak_lib.h), reached through ctypes on the library that the
# espeakng-loader wheel ships with its voice data, so nothing is installed or downloaded.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
ESPEAK_VOICES = {"uk": "uk", "ru": "ru", "en": "en-us"}


class _EspeakLibrary:
    """libespeak-ng keeps global state: one per process, used by one synthesis at a time."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lock = threading.Lock()
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_parent = str(espeakng_loader.get_data_path()).rsplit("/espeak-ng-data", 1)[0]
        self.native_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent.encode(), 0
        )
        if self.native_rate <= 0:
            raise TTSError(f"espeak-ng did not initialise (data in {data_parent})")
        self.chunks: list[bytes] = []
        # Keep a reference: ctypes callbacks are freed with their Python object.
        self._callback = _SYNTH_CALLBACK(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, count: int, events) -> int:
        if wav and count > 0:
            self.chunks.append(ctypes.string_at(wav, count * 2))
        return 0


_LIBRARY_LOCK = threading.Lock()


def _espeak_library() -> _EspeakLibrary:
    # Under a lock: two threads' first syntheses at once (a thread per call for remote speech)
    # built a second library whose espeak_Initialize crashed the other's synthesis.
    with _LIBRARY_LOCK:
        return _espeak_library_once()


@cache
def _espeak_library_once() -> _EspeakLibrary:
    return _EspeakLibrary()


class EspeakNGEngine(TTSEngine):
    """Offline, instant (real-time factor ~0.002) and robotic; speaks Ukrainian, Russian, English.

    The library and its voices ship in the espeakng-loader wheel: nothing is installed or
    downloaded. One process synthesises one text at a time (the library is not reentrant).
    """

    name = "espeak-ng"
    local = True

    def __init__(self, words_per_minute: int = 165) -> None:
        self.words_per_minute = words_per_minute
        self._library = _espeak_library()

    def voice_key(self, language: str) -> str:
        return f"{ESPEAK_VOICES.get(language, language)}@{self.words_per_minute}wpm"

    def synthesize(self, text: str, language: str, sample_rate: int) -> bytes:
        voice = ESPEAK_VOICES.get(language)
        if voice is None:
            raise TTSError(f"espeak-ng has no voice configured for language {language!r}")
        encoded = text.encode("utf-8") + b"\0"
        library = self._library
        with library.lock:
            if library.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise TTSError(f"espeak-ng has no voice {voice!r}")
            library.lib.espeak_SetParameter(_PARAM_RATE, self.words_per_minute, 0)
            library.chunks = []
            status = library.lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            if status != 0:
                raise TTSError(f"espeak-ng failed to synthesise (error {status})")
            pcm = b"".join(library.chunks)
        return resample(pcm, library.native_rate, sample_rate)


TTS_ENGINES = {
    "espeak-ng": "calls.voice.tts.EspeakNGEngine",
    "openai": "calls.voice.openai_api.OpenAITTSEngine",
    "google": "calls.voice.google_cloud.GoogleTTSEngine",
}


@cache
def get_tts_engine() -> TTSEngine:
    """The process's TTS engine, named in settings by a short name or an import path."""
    name = settings.TTS_ENGINE
    return import_string(TTS_ENGINES.get(name, name))()
