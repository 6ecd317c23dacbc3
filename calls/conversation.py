"""The call's script: greet, then for each utterance transcribe it, ask the agent, speak the reply.

Engine failures degrade politely: a failed transcription gets an apology and a request to
repeat; a failed agent or speech engine gets an apology and, on repeat, an operator.
"""

import logging

from . import metrics
from .agent.base import Action
from .models import CallOutcome, TurnRole
from .prompts import APOLOGY_NOT_UNDERSTOOD, GREETING, prompt
from .session import CallSession, TurnTiming
from .voice.vad import Utterance

logger = logging.getLogger(__name__)


async def converse(session: CallSession) -> None:
    await session.say(prompt(GREETING, session.language), answered=True)
    while not session.ended.is_set():
        utterance = await session.utterances.get()
        await respond_to(session, utterance)


async def respond_to(session: CallSession, utterance: Utterance) -> None:
    timing = TurnTiming(
        speech_ended_ms=utterance.speech_ended_ms,
        endpoint_ms=utterance.ended_ms - utterance.speech_ended_ms,
    )
    started = session.elapsed_ms()
    try:
        transcript = await session.transcribe(utterance)
    except Exception:
        metrics.ENGINE_ERRORS.labels("stt").inc()
        logger.exception("call %s: speech-to-text failed", session.uuid)
        await session.say(prompt(APOLOGY_NOT_UNDERSTOOD, session.language))
        return
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
    started = session.elapsed_ms()
    reply = await session.services.agent.respond(session.context, text)
    timing.agent_ms = session.elapsed_ms() - started
    timing.reply_ready_ms = session.elapsed_ms()
    spoken = await session.say(reply.text, timing=timing)
    session.context.history.append(
        (TurnRole.BOT, spoken.text if spoken.interrupted else reply.text)
    )
    if reply.outcome:
        session.outcome = reply.outcome
    if reply.action == Action.TRANSFER:
        await session.end("transferred to an operator", CallOutcome.TRANSFERRED)
    elif reply.action == Action.HANG_UP:
        await session.end("the bot ended the call", reply.outcome or CallOutcome.INFO_GIVEN)
