"""Admission control: load on speech-to-text is heard as a short filler, a busy message or an
operator, never as silence.

Speech-to-text is the bottleneck on the embedded engines. The STT queue (calls/voice/stt_queue.py)
says how long a transcription submitted now would take: its moving average per job times the
jobs ahead of it, shared among the workers. Two decisions follow from it and TURN_BUDGET_MS:
- a caller whose reply the queue would push past the budget hears "one moment" (a fixed prompt,
  rendered ahead of time like the others) while the transcription waits;
- while the queue's wait alone exceeds the budget (for its backlog averaged over the last ~10 s:
  a new caller needs speech-to-text only after the greeting, so a passing peak is no reason), a
  new call is not taken: it hears a short message and is hung up, with an outcome that makes the
  dialplan's GET /calls/<uuid>/route send it to the operators (STT_OVERLOAD_ROUTE).
"""

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import metrics
from .models import CallOutcome
from .prompts import BUSY, BUSY_TO_OPERATOR, prompt
from .voice.stt_queue import STTQueue

if TYPE_CHECKING:
    from .session import CallSession

# Seconds a reply takes after its transcription: the agent and the first synthesised sentence
# on the embedded engines (docs/testing.md).
AFTER_STT_SECONDS = 0.3
OVERLOAD_ROUTES = ("operator", "busy", "none")


@dataclass(frozen=True)
class Refusal:
    """A call not taken: what it hears, and the outcome the dialplan routes on."""

    message: dict[str, str]
    outcome: str
    reason: str


def overload_route() -> str:
    route = settings.STT_OVERLOAD_ROUTE
    if route not in OVERLOAD_ROUTES:
        raise ImproperlyConfigured(
            f"STT_OVERLOAD_ROUTE must be one of {', '.join(OVERLOAD_ROUTES)}, not {route!r}"
        )
    return route


def _budget() -> float:
    return settings.TURN_BUDGET_MS / 1000


def new_call(queue: Executor) -> Refusal | None:
    """None to take the call; a Refusal while speech-to-text is over capacity."""
    route = overload_route()
    wait = queue.lasting_wait_estimate() if isinstance(queue, STTQueue) else 0.0
    if route == "none" or wait <= _budget():
        metrics.STT_ADMISSIONS.labels("admitted").inc()
        return None
    metrics.STT_ADMISSIONS.labels("refused").inc()
    reason = f"speech-to-text at capacity: {queue.jobs} transcriptions queued, ~{wait:.1f} s wait"
    if route == "busy":
        return Refusal(BUSY, CallOutcome.FAILED, reason)
    return Refusal(BUSY_TO_OPERATOR, CallOutcome.TRANSFERRED, reason)


def needs_filler(queue: Executor, since_speech_ended: float) -> bool:
    """Whether a reply whose transcription is queued now would come past the budget, counting
    the `since_speech_ended` seconds the caller has already waited (the endpoint's silence)."""
    if not settings.STT_FILLER or not isinstance(queue, STTQueue):
        return False
    late = since_speech_ended + queue.done_estimate() + AFTER_STT_SECONDS > _budget()
    if late:
        metrics.STT_FILLERS.inc()
    return late


async def turn_away(session: "CallSession", refusal: Refusal) -> None:
    """What a call that is not taken hears: the refusal's message, then the hang-up.

    The call is recorded with the refusal's reason and outcome however it ends (the caller may
    hang up or go silent during the message); the dialplan routes on the outcome
    (GET /calls/<uuid>/route)."""
    session.turned_away = refusal.reason
    session.outcome = refusal.outcome
    try:
        async with asyncio.timeout(15):
            await session.say(prompt(refusal.message, session.language))
    finally:
        await session.end(refusal.reason, refusal.outcome)


def watch(queue: STTQueue) -> None:
    """Export the queue's state with the process's other metrics (read at each scrape)."""
    metrics.STT_QUEUE_JOBS.set_function(lambda: queue.jobs)
    metrics.STT_QUEUE_WAIT.set_function(queue.wait_estimate)
    metrics.STT_JOB_SECONDS.set_function(lambda: queue.job_seconds)
