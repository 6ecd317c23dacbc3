"""Synthesised audio kept by engine, voice, language, sample rate and text, so it plays at once.

Two layers: an in-process LRU for whatever the bot says (a sentence said twice is synthesised
once), and `PromptStore`, files on disk for the fixed prompts (greeting, busy message, apologies,
confirmations). Prompts are rendered ahead of time by `manage.py render_prompts`, the Celery task
`calls.tasks.render_prompts` and each AudioSocket process at start; every process on the host
reads the same files, and they still play when a cloud TTS engine is away.
"""

import asyncio
import hashlib
import json
import logging
import os
import tempfile
from collections import OrderedDict
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from .tts import TTSEngine

logger = logging.getLogger(__name__)


class PromptStore:
    """Rendered prompts as raw 16-bit PCM files named by a hash of everything that shapes them."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path(self, engine: TTSEngine, text: str, language: str, sample_rate: int) -> Path:
        identity = [engine.name, engine.voice_key(language), language, sample_rate, text]
        digest = hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()
        return self.directory / engine.name / f"{digest}.pcm"

    def load(self, engine: TTSEngine, text: str, language: str, sample_rate: int) -> bytes | None:
        try:
            pcm = self.path(engine, text, language, sample_rate).read_bytes()
        except FileNotFoundError:
            return None
        except OSError:
            logger.warning("the prompt store in %s cannot be read", self.directory, exc_info=True)
            return None
        return pcm or None

    def save(self, engine: TTSEngine, text: str, language: str, sample_rate: int, pcm: bytes):
        """Write atomically, so a process reading at the same moment never sees half a file."""
        target = self.path(engine, text, language, sample_rate)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(pcm)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class Rendered:
    text: str
    sample_rate: int
    pcm: bytes
    synthesised: bool  # False: it was already in the store


def render_prompt(
    engine: TTSEngine,
    store: PromptStore,
    text: str,
    language: str,
    sample_rate: int,
    *,
    force: bool = False,
) -> Rendered:
    """The prompt's audio from the store, or synthesised now and stored (blocking)."""
    if not force and (pcm := store.load(engine, text, language, sample_rate)) is not None:
        return Rendered(text, sample_rate, pcm, synthesised=False)
    pcm = engine.synthesize(text, language, sample_rate)
    try:
        store.save(engine, text, language, sample_rate, pcm)
    except OSError:
        # A read-only or full disk costs the head start, not the prompt.
        logger.warning("could not store the prompt %r in %s", text, store.directory, exc_info=True)
    return Rendered(text, sample_rate, pcm, synthesised=True)


class TTSCache:
    """Audio for the bot's sentences; synthesis and disk reads run in the executor, off the loop.

    Prompts (`prompt=True`) come from the store and stay in memory for the life of the process;
    other sentences share an LRU of `max_entries`.
    """

    def __init__(
        self,
        engine: TTSEngine,
        executor: Executor,
        store: PromptStore | None = None,
        max_entries: int = 256,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.store = store
        self.max_entries = max_entries
        self._audio: OrderedDict[tuple[str, str, int], asyncio.Future[bytes]] = OrderedDict()
        self._prompts: dict[tuple[str, str, int], asyncio.Future[bytes]] = {}

    def _produce(self, text: str, language: str, sample_rate: int, prompt: bool) -> bytes:
        if self.store is None:
            return self.engine.synthesize(text, language, sample_rate)
        if prompt:
            return render_prompt(self.engine, self.store, text, language, sample_rate).pcm
        # A sentence that happens to be a stored prompt needs no synthesis either.
        pcm = self.store.load(self.engine, text, language, sample_rate)
        return pcm if pcm is not None else self.engine.synthesize(text, language, sample_rate)

    async def get(self, text: str, language: str, sample_rate: int, *, prompt: bool = False):
        key = (language, text, sample_rate)
        future = self._prompts.get(key) or self._audio.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self.executor, self._produce, text, language, sample_rate, prompt
            )
            if prompt:
                self._prompts[key] = future
            else:
                self._audio[key] = future
                while len(self._audio) > self.max_entries:
                    self._audio.popitem(last=False)
        elif key in self._audio:
            self._audio.move_to_end(key)
        try:
            return await asyncio.shield(future)
        except Exception:
            # A failed synthesis is not cached: the next call tries again.
            for table in (self._prompts, self._audio):
                if table.get(key) is future:
                    del table[key]
            raise


COMMON_SAMPLE_RATES = (8000, 16000)  # slin (narrowband) and slin16 (wideband) calls


def render_fixed_prompts(
    languages: list[str] | None = None,
    sample_rates: tuple[int, ...] = COMMON_SAMPLE_RATES,
    *,
    force: bool = False,
) -> list[Rendered]:
    """Render every fixed prompt sentence into the store for the configured TTS engine."""
    from django.conf import settings

    from calls.language_settings import shop_languages
    from calls.prompts import prompt_sentences

    from .tts import get_tts_engine

    engine, store = get_tts_engine(), PromptStore(settings.TTS_CACHE_DIR)
    return [
        render_prompt(engine, store, sentence, language, rate, force=force)
        for language in languages or shop_languages()
        for rate in sample_rates
        for sentence in prompt_sentences(language)
    ]
