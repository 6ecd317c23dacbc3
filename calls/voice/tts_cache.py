"""Synthesised audio of fixed prompts, kept by text, voice and sample rate, so they play at once."""

import asyncio
from collections import OrderedDict
from concurrent.futures import Executor

from .tts import TTSEngine


class TTSCache:
    """An in-process LRU of rendered prompts; synthesis runs in the given executor, off the loop."""

    def __init__(self, engine: TTSEngine, executor: Executor, max_entries: int = 256) -> None:
        self.engine = engine
        self.executor = executor
        self.max_entries = max_entries
        self._audio: OrderedDict[tuple[str, str, str, int], asyncio.Future[bytes]] = OrderedDict()

    async def get(self, text: str, language: str, sample_rate: int) -> bytes:
        key = (self.engine.name, language, text, sample_rate)
        future = self._audio.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(
                self.executor, self.engine.synthesize, text, language, sample_rate
            )
            self._audio[key] = future
            while len(self._audio) > self.max_entries:
                self._audio.popitem(last=False)
        else:
            self._audio.move_to_end(key)
        try:
            return await asyncio.shield(future)
        except Exception:
            # A failed synthesis is not cached: the next call tries again.
            if self._audio.get(key) is future:
                del self._audio[key]
            raise
