"""The call's script: greet, then for each utterance transcribe it, ask the agent, speak the reply.

Engine failures degrade politely: a failed transcription gets an apology and a request to
repeat; a reply the TTS engine cannot speak becomes a stored apology and an operator transfer.
"""

import asyncio
import logging
from collections.abc import Awaitable

from django.conf import settings

from callcenter.log_filters import mask_words

from . import db_threads, metrics
from .agent.base import Action, AgentReply, CallContext
from .language import Decision
from .models import Call, CallOutcome, TurnRole
from .prompts import (
    APOLOGY_NOT_UNDERSTOOD,
    APOLOGY_TRANSFER,
    GREETING,
    NO_INPUT_GOODBYE,
    STILL_THERE,
    prompt,
)
from .session import CallSession, KeyedEntry, TurnTiming
from .voice.stt import Transcript
from .voice.vad import Utterance

logger = logging.getLogger(__name__)

CALLER_LOOKUP_TIMEOUT = 1.0  # seconds; the greeting waits for nothing longer
# One failed transcription may be the line; a second in a row means the engine is down.
STT_FAILURES_BEFORE_TRANSFER = 2


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"{type(error).__name__}: {error}"[:150]


async def converse(session: CallSession) -> None:
    greeting = asyncio.ensure_future(session.say(prompt(GREETING, session.language), answered=True))
    session.context.caller_number = await caller_number(session)
    await greeting
    silences = 0
    while not session.ended.is_set():
        try:
            # asyncio.timeout, never asyncio.wait_for: on Python 3.11 wait_for swallows a
            # cancellation that arrives as its awaitable completes, and a cancelled call (or a
            # server stopping) would go on. Every time-out in the call's script is written so.
            async with asyncio.timeout(settings.NO_INPUT_TIMEOUT):
                heard = await session.utterances.get()
        except TimeoutError:
            if session.caller_busy:
                continue  # a long utterance or a keyed entry is still coming
            silences += 1
            await no_input(session, silences)
            continue
        silences = 0
        if isinstance(heard, KeyedEntry):
            await respond_to_keys(session, heard)
        else:
            await respond_to(session, heard)


async def no_input(session: CallSession, silences: int) -> None:
    """The caller is on the line but says nothing: ask once, then say goodbye and hang up."""
    if silences == 1:
        await session.say(prompt(STILL_THERE, session.language))
        return
    await session.say(prompt(NO_INPUT_GOODBYE, session.language))
    await session.end("the caller said nothing", CallOutcome.ABANDONED)


async def caller_number(session: CallSession) -> str:
    """The number the dialplan handed over for this call (POST /calls/<uuid>/caller), if any."""

    def lookup() -> str:
        return (
            Call.objects.filter(uuid=session.uuid).values_list("caller_number", flat=True).first()
            or ""
        )

    try:
        async with asyncio.timeout(CALLER_LOOKUP_TIMEOUT):
            return await db_threads.run("agent", lookup)
    except Exception:
        logger.warning("call %s: the caller's number could not be looked up", session.uuid)
        return ""


async def respond_to_keys(session: CallSession, entry: KeyedEntry) -> None:
    session.context.history.append((TurnRole.CALLER, entry.digits))
    reply = await session.services.agent.respond_keys(session.context, entry.digits)
    await answer(session, reply)


async def respond_to(session: CallSession, utterance: Utterance) -> None:
    timing = TurnTiming(
        speech_ended_ms=utterance.speech_ended_ms,
        endpoint_ms=utterance.ended_ms - utterance.speech_ended_ms,
    )
    started = session.elapsed_ms()
    try:
        async with asyncio.timeout(settings.STT_TIMEOUT):
            transcript = await session.transcribe(utterance)
    except Exception as error:
        metrics.ENGINE_ERRORS.labels("stt").inc()
        failures = session.context.state.get("stt_failures", 0) + 1
        session.context.state["stt_failures"] = failures
        logger.error("call %s: speech-to-text failed (%s)", session.uuid, _describe(error))
        if failures < STT_FAILURES_BEFORE_TRANSFER:
            await session.say(prompt(APOLOGY_NOT_UNDERSTOOD, session.language))
            return
        # The engine is down, not the caller unclear: a person takes over.
        reason = f"speech-to-text failed: {_describe(error)}"
        reply = AgentReply(
            prompt(APOLOGY_TRANSFER, session.language),
            Action.TRANSFER,
            CallOutcome.TRANSFERRED,
            reason,
        )
        await answer(session, reply)
        return
    session.context.state["stt_failures"] = 0
    timing.stt_ms = session.elapsed_ms() - started
    text = transcript.text.strip()
    if not text:
        return  # a cough or line noise: nothing to answer
    session.record_turn(
        TurnRole.CALLER,
        text,
        utterance.started_ms,
        utterance.speech_ended_ms,
        confidence=transcript.confidence,
        endpoint_ms=timing.endpoint_ms,
        stt_ms=timing.stt_ms,
    )
    session.context.history.append((TurnRole.CALLER, text))
    switched = follow_language(session, transcript, utterance, text)
    agent = session.services.agent
    started = session.elapsed_ms()
    reply = await agent_reply(
        session.uuid,
        session.context,
        text,
        agent.language_switched(session.context, text)
        if switched.requested
        else agent.respond(session.context, text),
    )
    timing.agent_ms = session.elapsed_ms() - started
    timing.reply_ready_ms = session.elapsed_ms()
    await answer(session, reply, timing)


async def agent_reply(
    call_uuid, context: CallContext, said: str, asked: Awaitable[AgentReply]
) -> AgentReply:
    """The agent's reply to what the caller `said` (`asked`: the agent's coroutine for it),
    within AGENT_TIMEOUT; when the agent errs or times out (an LLM, or the database away under
    its tools), an apology and a transfer to an operator."""
    try:
        async with asyncio.timeout(settings.AGENT_TIMEOUT):
            return await asked
    except Exception as error:
        metrics.ENGINE_ERRORS.labels("agent").inc()
        logger.error(
            "call %s: the agent failed on %r (%s)",
            call_uuid,
            mask_words(said),
            _describe(error),
            exc_info=not isinstance(error, TimeoutError),
        )
        return AgentReply(
            prompt(APOLOGY_TRANSFER, context.language),
            Action.TRANSFER,
            CallOutcome.TRANSFERRED,
            f"the agent failed: {_describe(error)}",
        )


def follow_language(
    session: CallSession, transcript: Transcript, utterance: Utterance, text: str
) -> Decision:
    """The call goes on in the caller's language (calls/language.py): from this reply on, the
    agent, the prompts, recognition and the voice take it, and the call's row records it."""
    decision = session.call_language.hear(
        text,
        heard_as=transcript.language,
        probs=transcript.language_probs,
        seconds=utterance.duration_ms / 1000,
    )
    if decision.changed:
        session.context.language = decision.language
        session.recorder.call_updated(session.uuid, language=decision.language)
        how = "asked for" if decision.requested else "heard"
        logger.info("call %s: %s %s; going on in it", session.uuid, how, decision.language)
    return decision


async def answer(session: CallSession, reply: AgentReply, timing: TurnTiming | None = None):
    """Speak the agent's reply and carry out its action (an operator transfer, a hang-up)."""
    try:
        spoken = await session.say(reply.text, timing=timing)
    except Exception:
        # The fixed prompts come from the prompt store, so the apology plays without the engine.
        metrics.ENGINE_ERRORS.labels("tts").inc()
        logger.exception(
            "call %s: text-to-speech failed on %r", session.uuid, mask_words(reply.text)
        )
        await session.say(prompt(APOLOGY_TRANSFER, session.language))
        session.outcome = CallOutcome.TRANSFERRED
        await session.end("text-to-speech failed", CallOutcome.TRANSFERRED)
        return
    session.context.history.append(
        (TurnRole.BOT, spoken.text if spoken.interrupted else reply.text)
    )
    if reply.outcome:
        session.outcome = reply.outcome
    if reply.action == Action.TRANSFER:
        # Even after an order: the dialplan routes on this outcome (GET /calls/<uuid>/route).
        session.outcome = CallOutcome.TRANSFERRED
        await session.end(reply.reason or "transferred to an operator", CallOutcome.TRANSFERRED)
    elif reply.action == Action.HANG_UP:
        await session.end("the bot ended the call", reply.outcome or CallOutcome.INFO_GIVEN)
