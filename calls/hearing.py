"""A call's hearing: its utterances to text in the process's STT queue, transcribed early at a
pause, with a filler when the queue would make the reply late.

Early transcription: when the caller has been silent for STT_EARLY_SILENCE_MS (the endpointer's
SpeechPaused), the utterance so far is transcribed while the endpoint still waits for the rest of
VAD_END_SILENCE_MS. If the caller says no more, the utterance that ends is the very same audio and
its transcript is that early one, so the reply starts sooner by the rest of the end silence. If
they go on, the early result is dropped and the whole utterance transcribed at the endpoint. A
dropped one is wasted CPU on a busy box, so it is bounded: at most one in flight per call, and
none started unless a worker of the STT queue is idle.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import admission, metrics
from .prompts import ONE_MOMENT, prompt
from .voice.stt import Transcript
from .voice.stt_queue import STTQueue
from .voice.vad import Utterance

if TYPE_CHECKING:
    from .session import CallSession

logger = logging.getLogger(__name__)


@dataclass
class _Early:
    pcm: bytes
    language: str
    expect: str
    detect: tuple[str, ...]
    result: asyncio.Future


class Hearing:
    def __init__(self, session: "CallSession") -> None:
        self.session = session
        # Early transcriptions by the call time their utterance began (one utterance may be
        # queued for the conversation while the caller already pauses in the next).
        self._early: dict[int, _Early] = {}

    def paused(self, utterance: Utterance) -> None:
        """The caller paused: transcribe what they said so far, if a worker is free for it."""
        queue = self.session.services.stt_executor
        running = any(not early.result.done() for early in self._early.values())
        if running or (isinstance(queue, STTQueue) and queue.busy):
            metrics.EARLY_TRANSCRIPTIONS.labels("skipped").inc()
            return
        if utterance.started_ms in self._early:
            # The caller went on after an earlier pause of this utterance: that one is dropped.
            metrics.EARLY_TRANSCRIPTIONS.labels("dropped").inc()
        language, expect = self.session.language, self.session.context.expect
        detect = self.session.call_language.detect
        try:
            result = self._submit(utterance, language, expect, detect)
        except RuntimeError:  # the executor is shut down: the server is stopping
            return
        # Never awaited when dropped: its error, if any, is not an unretrieved one.
        result.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._early[utterance.started_ms] = _Early(utterance.pcm, language, expect, detect, result)

    async def transcribe(self, utterance: Utterance) -> Transcript:
        """The utterance's text: the early transcript when it heard the same audio for the same
        question, else a transcription queued now (with "one moment" first if it would be late)."""
        session = self.session
        language, expect = session.language, session.context.expect
        detect = session.call_language.detect
        early = self._early.pop(utterance.started_ms, None)
        for started_ms in [s for s in self._early if s < utterance.started_ms]:
            self._early.pop(started_ms).result.cancel()  # an utterance that was never answered
        if early is not None:
            heard_for = (early.pcm, early.language, early.expect, early.detect)
            if heard_for == (utterance.pcm, language, expect, detect):
                metrics.EARLY_TRANSCRIPTIONS.labels("used").inc()
                return await early.result
            metrics.EARLY_TRANSCRIPTIONS.labels("dropped").inc()
            early.result.cancel()  # stops it only if it had not started
        waited = max(0, session.elapsed_ms() - utterance.speech_ended_ms) / 1000
        if not session.ended.is_set() and admission.needs_filler(
            session.services.stt_executor, waited
        ):
            session._spawn(self._one_moment())
        return await self._submit(utterance, language, expect, detect)

    def _submit(
        self, utterance: Utterance, language: str, expect: str, detect: tuple[str, ...]
    ) -> asyncio.Future:
        """Speech to text off the loop, in the process's STT executor, told what the agent
        asked for (the engine fits its prompt or phrase hints to it) and which of the shop's
        languages the caller may be speaking (calls/language.py)."""
        stt = self.session.services.stt
        pcm, rate = utterance.pcm, utterance.sample_rate
        return asyncio.get_running_loop().run_in_executor(
            self.session.services.stt_executor,
            lambda: stt.transcribe(pcm, rate, language, expect=expect, detect=detect),
        )

    async def _one_moment(self) -> None:
        try:
            await self.session.say(prompt(ONE_MOMENT, self.session.language))
        except Exception:
            logger.warning("call %s: the filler could not be played", self.session.uuid)
