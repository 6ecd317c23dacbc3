"""One call's life: greeting, listening, speaking, DTMF, hang-up; owns the call's state and timings.

The session talks to the wire only through its CallConnection, to the database only through
the Recorder, and to speech only through the TTS cache, so each part can be swapped or tested.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.utils import timezone

from .audiosocket.connection import CallConnection, ConnectionClosed
from .audiosocket.protocol import ErrorCode, Kind, Packet, ProtocolError, encode_audio
from .models import CallOutcome, CallStatus, TurnInput, TurnRole
from .prompts import GREETING, prompt
from .recorder import Recorder
from .voice.player import FrameClock, Player
from .voice.tts_cache import TTSCache

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 8000  # what the AudioSocket() dialplan application always speaks


class _EndCall(Exception):
    """Raised inside the session to end the call with a reason and outcome."""

    def __init__(self, reason: str, outcome: str, *, send_hangup: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.outcome, self.send_hangup = reason, outcome, send_hangup


@dataclass(frozen=True)
class SessionConfig:
    language: str = "en"
    idle_timeout: float = 10.0
    # How long to wait for the caller's first audio frame to learn the rate before assuming 8 kHz.
    first_audio_wait: float = 0.5


class CallSession:
    def __init__(
        self,
        call_uuid: uuid.UUID,
        connection: CallConnection,
        *,
        clock: FrameClock,
        recorder: Recorder,
        tts: TTSCache,
        config: SessionConfig,
        on_answer: Callable[["CallSession"], Awaitable[None]] | None = None,
    ) -> None:
        self.uuid = call_uuid
        # What the bot does once audio flows: by default greet and listen; busy calls differ.
        self.on_answer = on_answer or CallSession.greet
        self.connection = connection
        self.clock = clock
        self.recorder = recorder
        self.tts = tts
        self.config = config
        self.language = config.language
        self.sample_rate: int | None = None
        self.player: Player | None = None
        self.ended = asyncio.Event()
        self.ended_at = None
        self.end_reason = ""
        self.outcome = ""
        self.dtmf_digits: list[str] = []
        self.frames_in = 0
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._sequence = 0
        self._tasks: set[asyncio.Task] = set()

    # --- Life cycle -----------------------------------------------------------------------------

    async def run(self, first_packets: list[Packet]) -> None:
        """Serve the call until either side ends it. Never raises for the caller's mistakes."""
        self.recorder.call_started(
            self.uuid,
            started_at=timezone.now(),
            language=self.language,
            status=CallStatus.IN_PROGRESS,
        )
        logger.info("call %s started from %s", self.uuid, self.connection.peer)
        try:
            self._dispatch(first_packets)
            if self.sample_rate is None:
                await self._wait_for_first_audio()
            self._start_player(self.sample_rate or DEFAULT_SAMPLE_RATE)
            self._spawn(self.on_answer(self))
            while not self.ended.is_set():
                try:
                    packets = await self.connection.read_packets(self.config.idle_timeout)
                except TimeoutError:
                    idle = self.config.idle_timeout
                    raise _EndCall(
                        f"no packets from Asterisk for {idle:g} s (idle time-out)",
                        CallOutcome.FAILED,
                    ) from None
                self._dispatch(packets)
        except _EndCall as request:
            await self.end(request.reason, request.outcome, send_hangup=request.send_hangup)
        except ProtocolError as error:
            await self.end(f"protocol error: {error}", CallOutcome.FAILED)
        except ConnectionClosed:
            await self.end(
                "connection closed by Asterisk", CallOutcome.ABANDONED, send_hangup=False
            )
        except (ConnectionError, OSError) as error:
            await self.end(f"connection lost: {error}", CallOutcome.ABANDONED, send_hangup=False)
        except asyncio.CancelledError:
            await self.end("server stopped", CallOutcome.FAILED)
            raise
        finally:
            if not self.ended.is_set():
                await self.end("session ended unexpectedly", CallOutcome.FAILED)
            await self._finish_background_work()
            self.recorder.call_ended(
                self.uuid,
                status=CallStatus.ENDED,
                outcome=self.outcome,
                end_reason=self.end_reason[:200],
                ended_at=self.ended_at,
            )

    async def _finish_background_work(self) -> None:
        """Let running work record what the caller heard; cancel what is still waiting."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=2)
            for task in pending:
                task.cancel()

    async def _wait_for_first_audio(self) -> None:
        try:
            packets = await self.connection.read_packets(self.config.first_audio_wait)
        except TimeoutError:
            return
        self._dispatch(packets)

    def _start_player(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.player = Player(sample_rate, self._send_frame, encode_audio)
        self.recorder.call_updated(self.uuid, sample_rate=sample_rate)
        self.clock.register(self.player)

    def _send_frame(self, data: bytes) -> None:
        if self.connection.stalled:
            # Asterisk stopped reading: end the call rather than buffer audio without bound.
            self._spawn(
                self.end("Asterisk stopped reading audio", CallOutcome.FAILED, send_hangup=False)
            )
            if self.player is not None:
                self.clock.unregister(self.player)
            return
        self.connection.send(data)

    async def end(self, reason: str, outcome: str, *, send_hangup: bool = True) -> None:
        """End the call once: stop audio, hang up (when we end it), close. `run` records it."""
        if self.ended.is_set():
            return
        self.ended.set()
        self.ended_at = timezone.now()
        self.end_reason = reason
        self.outcome = self.outcome or outcome
        if self.player is not None:
            self.clock.unregister(self.player)
            self.player.stop()  # resolves playbacks, so the bot's turn is kept as heard
        await self.connection.hang_up_and_close(send_hangup=send_hangup)
        logger.info("call %s ended: %s (%s)", self.uuid, reason, self.outcome)

    async def hang_up(self, reason: str, outcome: str = CallOutcome.FAILED) -> None:
        """The server ends the call (shutdown, limits)."""
        await self.end(reason, outcome)

    # --- Inbound packets ------------------------------------------------------------------------

    def _dispatch(self, packets: list[Packet]) -> None:
        for packet in packets:
            if self.ended.is_set():
                return
            if packet.is_audio:
                self._on_audio(packet)
            elif packet.kind == Kind.DTMF:
                self.on_dtmf(packet.digit)
            elif packet.kind == Kind.HANGUP:
                raise _EndCall("caller hung up", CallOutcome.ABANDONED, send_hangup=False)
            elif packet.kind == Kind.ERROR:
                self._on_error(packet)
            elif packet.kind == Kind.UUID:
                raise ProtocolError("a second UUID packet in the same connection")

    def _on_audio(self, packet: Packet) -> None:
        if self.sample_rate is None:
            self.sample_rate = packet.sample_rate
        elif packet.sample_rate != self.sample_rate:
            raise ProtocolError(
                f"audio changed from {self.sample_rate} Hz to {packet.sample_rate} Hz mid-call"
            )
        self.frames_in += 1

    def on_dtmf(self, digit: str) -> None:
        """A key the caller pressed: kept in order and recorded as a caller turn."""
        self.dtmf_digits.append(digit)
        at = self.elapsed_ms()
        self.record_turn(TurnRole.CALLER, digit, at, at, via=TurnInput.DTMF)

    def _on_error(self, packet: Packet) -> None:
        code = packet.error_code
        if code == ErrorCode.CALLER_HUNG_UP:
            raise _EndCall("caller hung up", CallOutcome.ABANDONED, send_hangup=False)
        description = {
            ErrorCode.FRAME_FORWARDING: "frame forwarding error",
            ErrorCode.MEMORY: "memory error",
        }.get(code, f"error code {code!r}")
        raise _EndCall(f"Asterisk reported a {description}", CallOutcome.FAILED, send_hangup=False)

    # --- Speaking -------------------------------------------------------------------------------

    async def greet(self) -> None:
        text = prompt(GREETING, self.language)
        await self.say(text, answered=True)

    async def say(self, text: str, *, answered: bool = False) -> int:
        """Speak text to the caller; returns the milliseconds they heard."""
        assert self.player is not None and self.sample_rate is not None
        pcm = await self.tts.get(text, self.language, self.sample_rate)
        if self.ended.is_set():
            return 0
        start = self.elapsed_ms()
        playback = self.player.play(pcm)
        if answered:
            self.recorder.call_updated(self.uuid, answered_at=timezone.now())
        played = await playback.done
        self.record_turn(
            TurnRole.BOT, text, start, start + played, interrupted=playback.interrupted
        )
        return played

    # --- Helpers --------------------------------------------------------------------------------

    def elapsed_ms(self) -> int:
        return int((self._loop.time() - self._t0) * 1000)

    def record_turn(self, role: str, text: str, start_ms: int, end_ms: int, **fields) -> None:
        self.recorder.turn(
            self.uuid,
            sequence=self._sequence,
            role=role,
            text=text,
            start_ms=start_ms,
            end_ms=end_ms,
            **fields,
        )
        self._sequence += 1

    def _spawn(self, coroutine) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("call %s: background work failed", self.uuid, exc_info=task.exception())
            if not self.ended.is_set():
                self._loop.create_task(self.end("internal error", CallOutcome.FAILED))
