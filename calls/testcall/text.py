"""A test call in text chat: the agent alone (same agent, tools and sandbox as a voice call), the
tester's messages as the caller's turns. Recorded like any call, through the process's Recorder:
a Call with its turns (via "text"), its outcome and end reason."""

import asyncio
import logging
import uuid

from django.utils import timezone

from .. import metrics
from ..agent.base import Action, CallContext
from ..conversation import agent_reply
from ..language import CallLanguage
from ..models import CallOutcome, CallStatus, TurnInput, TurnRole
from ..prompts import GREETING, prompt
from ..session import CallServices

logger = logging.getLogger(__name__)


class TextCall:
    def __init__(
        self, call_uuid: uuid.UUID, services: CallServices, languages: tuple[str, ...]
    ) -> None:
        self.uuid = call_uuid
        self.services = services
        self.recorder = services.recorder
        self.call_language = CallLanguage(languages)
        self.context = CallContext(call_uuid, self.call_language.language)
        self.ended = False
        self.outcome = ""
        self.end_reason = ""
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._sequence = 0
        self._lock = asyncio.Lock()  # one message at a time, in the order they came

    @property
    def language(self) -> str:
        return self.context.language

    def elapsed_ms(self) -> int:
        return int((self._loop.time() - self._t0) * 1000)

    def start(self) -> None:
        now = timezone.now()
        self.recorder.call_started(
            self.uuid,
            started_at=now,
            answered_at=now,
            language=self.language,
            status=CallStatus.IN_PROGRESS,
            is_test=True,
        )
        self._record(TurnRole.BOT, prompt(GREETING, self.language))

    async def hear(self, text: str) -> None:
        """One message of the tester's: recorded, answered by the agent, the answer recorded."""
        text = text.strip()[:2000]
        if not text:
            return
        async with self._lock:
            if self.ended:
                return
            self._record(TurnRole.CALLER, text)
            self.context.history.append((TurnRole.CALLER, text))
            decision = self.call_language.hear(text)
            if decision.changed:
                self.context.language = decision.language
                self.recorder.call_updated(self.uuid, language=decision.language)
            agent = self.services.agent
            await self._answer(
                text,
                agent.language_switched(self.context, text)
                if decision.requested
                else agent.respond(self.context, text),
            )

    async def keys(self, digit: str) -> None:
        """A keypad button: answered at once as a keyed entry of one digit."""
        async with self._lock:
            if self.ended:
                return
            self._record(TurnRole.CALLER, digit, via=TurnInput.DTMF)
            self.context.history.append((TurnRole.CALLER, digit))
            await self._answer(digit, self.services.agent.respond_keys(self.context, digit))

    async def _answer(self, said: str, asked) -> None:
        started = self.elapsed_ms()
        reply = await agent_reply(self.uuid, self.context, said, asked)
        self._record(TurnRole.BOT, reply.text, agent_ms=self.elapsed_ms() - started)
        self.context.history.append((TurnRole.BOT, reply.text))
        if reply.outcome:
            self.outcome = reply.outcome
        if reply.action == Action.TRANSFER:
            self.outcome = CallOutcome.TRANSFERRED
            self.end(reply.reason or "transferred to an operator", CallOutcome.TRANSFERRED)
        elif reply.action == Action.HANG_UP:
            self.end("the bot ended the call", reply.outcome or CallOutcome.INFO_GIVEN)

    def end(self, reason: str, outcome: str) -> None:
        if self.ended:
            return
        self.ended = True
        self.outcome = self.outcome or outcome
        self.end_reason = reason
        self.recorder.call_ended(
            self.uuid,
            status=CallStatus.ENDED,
            outcome=self.outcome,
            end_reason=reason[:200],
            ended_at=timezone.now(),
        )
        metrics.CALLS_ENDED.labels(self.outcome).inc()
        logger.info("test call %s ended: %s (%s)", self.uuid, reason, self.outcome)

    def _record(self, role: str, text: str, **fields) -> None:
        at = self.elapsed_ms()
        self.recorder.turn(
            self.uuid,
            sequence=self._sequence,
            role=role,
            text=text,
            start_ms=at,
            end_ms=at,
            via=fields.pop("via", TurnInput.TEXT),
            **fields,
        )
        metrics.TURNS.labels(role).inc()
        self._sequence += 1
