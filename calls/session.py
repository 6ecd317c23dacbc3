"""One call's life: audio in and out, barge-in, DTMF, hang-up; owns the call's state and timings.

The session talks to the wire only through its transport (calls/transport.py: AudioSocket's
CallConnection, or the browser's test-call websocket), to the database only through
the Recorder, and to speech and the agent only through the engines in CallServices, so each part
can be swapped or tested. What the bot says and when is the call's script (`on_answer`, by
default `calls.conversation.converse`).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

from django.utils import timezone

from . import metrics
from .agent.base import Agent, CallContext
from .audiosocket.limits import Flood, RealTimeAudio
from .audiosocket.protocol import ErrorCode, Kind, Packet, ProtocolError
from .background import unless_set
from .hearing import Hearing
from .keypad import Keypad
from .language import CallLanguage
from .models import CallOutcome, CallStatus, TurnInput, TurnRole
from .prompts import split_sentences
from .recorder import Recorder
from .transport import CallTransport, ConnectionClosed
from .voice.audio import FRAME_MS, frame_size
from .voice.player import FrameClock, Playback, Player, heard_text
from .voice.stt import STTEngine, Transcript
from .voice.tts_cache import TTSCache
from .voice.vad import EndpointConfig, Endpointer, SpeechPaused, SpeechStarted, Utterance, WebRTCVAD

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 8000  # what the AudioSocket() dialplan application always speaks
# Outcomes after which the dialplan goes on (to the operators' queue, or to hang up).
ROUTED_OUTCOMES = (CallOutcome.TRANSFERRED, CallOutcome.ORDER_PLACED, CallOutcome.INFO_GIVEN)
ROUTE_FLUSH_TIMEOUT = 1.0  # seconds the hang-up waits for the call's outcome to be stored
# A caller's words cut off by their hang-up: kept when at least this long, transcribed this fast.
MIN_LAST_WORDS_MS = 400
LAST_WORDS_TIMEOUT = 10.0
EARLY_AUDIO_MS = 2000  # caller audio kept from before the call is answered
KEYED_ENTRY_PAUSE = 2.0  # seconds without a key that end a keypad entry (or "#")


@dataclass(frozen=True)
class KeyedEntry:
    """Digits the caller keyed in on the phone, ended by "#" or a pause."""

    digits: str


class _EndCall(Exception):
    """Raised inside the session to end the call with a reason and outcome."""

    def __init__(self, reason: str, outcome: str, *, send_hangup: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.outcome, self.send_hangup = reason, outcome, send_hangup


@dataclass
class CallServices:
    """What every call of a process shares; the server builds it once."""

    clock: FrameClock
    recorder: Recorder
    tts: TTSCache
    stt: STTEngine
    stt_executor: Executor
    agent: Agent
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    barge_in: bool = True


@dataclass
class TurnTiming:
    """Milliseconds of one exchange, from the end of the caller's speech (call time)."""

    speech_ended_ms: int
    endpoint_ms: int | None = None
    stt_ms: int | None = None
    agent_ms: int | None = None
    reply_ready_ms: int | None = None  # call time the reply text was ready


@dataclass(frozen=True)
class Spoken:
    """What the caller heard of something the bot said."""

    text: str
    played_ms: int
    interrupted: bool


@dataclass(frozen=True)
class SessionConfig:
    language: str = "en"
    languages: tuple[str, ...] = ()  # the shop's, `language` first; () is `language` alone
    idle_timeout: float = 10.0
    # How long to wait for the caller's first audio frame to learn the rate before assuming 8 kHz.
    first_audio_wait: float = 0.5


class CallSession:
    def __init__(
        self,
        call_uuid: uuid.UUID,
        connection: CallTransport,
        services: CallServices,
        config: SessionConfig,
        *,
        on_answer: Callable[["CallSession"], Awaitable[None]] | None = None,
    ) -> None:
        from .conversation import converse

        self.uuid = call_uuid
        # What the bot does once audio flows: by default the conversation; busy calls differ.
        self.on_answer = on_answer or converse
        self.connection = connection
        self.services = services
        self.clock = services.clock
        self.recorder = services.recorder
        self.tts = services.tts
        self.config = config
        self.call_language = CallLanguage(config.languages or (config.language,))
        self.sample_rate: int | None = None
        self.player: Player | None = None
        self.ended = asyncio.Event()
        self.ended_at = None
        self.end_reason = ""
        self.outcome = ""
        self.turned_away = ""  # why the call is not taken (calls/admission.py): kept as its end
        self.dtmf_digits: list[str] = []
        self.frames_in = 0
        self.inbound_audio = RealTimeAudio(asyncio.get_running_loop().time())
        self.context = CallContext(call_uuid, self.call_language.language)
        self.endpointer: Endpointer | None = None
        self.hearing = Hearing(self)  # speech to text, early at a pause
        # What the caller said (utterances) and keyed (entries), in order, for the conversation.
        self.utterances: asyncio.Queue[Utterance | KeyedEntry] = asyncio.Queue()
        self.keypad = Keypad(asyncio.get_running_loop().time())
        self._keys_timer: asyncio.TimerHandle | None = None
        self.barge_ins = 0
        self._inbound = bytearray()
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._audio_ms = 0  # call time of the last caller frame fed to the endpointer
        self._sequence = 0
        self._tasks: set[asyncio.Task] = set()

    @property
    def language(self) -> str:  # the call's: it follows the caller (calls/language.py)
        return self.context.language

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
                        f"no packets from {self.connection.name} for {idle:g} s (idle time-out)",
                        CallOutcome.FAILED,
                    ) from None
                self._dispatch(packets)
        except _EndCall as request:
            await self.end(request.reason, request.outcome, send_hangup=request.send_hangup)
        except ProtocolError as error:
            await self.end(f"protocol error: {error}", CallOutcome.FAILED)
        except ConnectionClosed:
            await self.end(
                f"connection closed by {self.connection.name}",
                CallOutcome.ABANDONED,
                send_hangup=False,
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
            await self._keep_last_words()
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

    async def _keep_last_words(self) -> None:
        """A caller who hangs up mid-sentence: what they had said is transcribed and kept."""
        utterance = self.endpointer.flush(self.elapsed_ms()) if self.endpointer else None
        if utterance is None or utterance.duration_ms < MIN_LAST_WORDS_MS:
            return
        try:
            async with asyncio.timeout(LAST_WORDS_TIMEOUT):
                transcript = await self.transcribe(utterance)
        except Exception:
            logger.warning("call %s: the caller's last words could not be transcribed", self.uuid)
            return
        if text := transcript.text.strip():
            self.record_turn(
                TurnRole.CALLER,
                text,
                utterance.started_ms,
                utterance.speech_ended_ms,
                confidence=transcript.confidence,
                interrupted=True,
            )

    @property
    def caller_busy(self) -> bool:
        """The caller is speaking or keying in an entry right now."""
        return self.keypad.entering or (self.endpointer is not None and self.endpointer.in_speech)

    async def _wait_for_first_audio(self) -> None:
        try:
            packets = await self.connection.read_packets(self.config.first_audio_wait)
        except TimeoutError:
            return
        self._dispatch(packets)

    def _start_player(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.player = Player(sample_rate, self._send_frame, self.connection.encode_audio)
        self.endpointer = Endpointer(WebRTCVAD(), sample_rate, self.services.endpoint)
        self.recorder.call_updated(self.uuid, sample_rate=sample_rate)
        self.clock.register(self.player)
        self._feed_inbound()  # what the caller said before the answer

    def _send_frame(self, data: bytes) -> None:
        if self.connection.stalled:
            # Asterisk stopped reading: end the call rather than buffer audio without bound.
            self._spawn(
                self.end(
                    f"{self.connection.name} stopped reading audio",
                    CallOutcome.FAILED,
                    send_hangup=False,
                )
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
        if self._keys_timer is not None:
            # An entry the caller left unfinished is not answered after the call.
            self._keys_timer.cancel()
            self._keys_timer = None
        self.ended_at = timezone.now()
        if self.turned_away and reason != self.turned_away:
            # A caller turned away who hangs up or goes silent during the message was still
            # turned away: staff and reports must see why.
            reason = f"{self.turned_away}; {reason}"
        self.end_reason = reason
        self.outcome = self.outcome or outcome
        if self.player is not None:
            self.clock.unregister(self.player)
            self.player.stop()  # resolves playbacks, so the bot's turn is kept as heard
        if send_hangup and self.outcome in ROUTED_OUTCOMES:
            # The dialplan asks GET /calls/<uuid>/route the moment we hang up: store the outcome
            # first (briefly: a database outage must not keep the caller waiting).
            self.recorder.call_updated(self.uuid, outcome=self.outcome, end_reason=reason[:200])
            flush = asyncio.ensure_future(self.recorder.flush())
            await asyncio.wait({flush}, timeout=ROUTE_FLUSH_TIMEOUT)
        await self.connection.hang_up_and_close(send_hangup=send_hangup)
        metrics.CALLS_ENDED.labels(self.outcome).inc()
        logger.info("call %s ended: %s (%s)", self.uuid, reason, self.outcome)

    async def hang_up(self, reason: str, outcome: str = CallOutcome.FAILED) -> None:
        """The server ends the call (shutdown, limits)."""
        await self.end(reason, outcome)

    # --- Inbound packets ------------------------------------------------------------------------

    def _dispatch(self, packets: list[Packet]) -> None:
        for packet in packets:
            if self.ended.is_set():
                return
            try:
                self._on_packet(packet)
            except Flood as flood:
                # Keys or audio faster than a phone can send: the rest of this read is not even
                # looked at, and the peer is cut off now (logged once, the reason stored).
                logger.warning("call %s: %s; hanging up", self.uuid, flood)
                raise _EndCall(str(flood), CallOutcome.FAILED) from None

    def _on_packet(self, packet: Packet) -> None:
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
        duration_ms = len(packet.payload) * 500 / self.sample_rate  # 16-bit samples
        if not self.inbound_audio.admit(duration_ms, self._loop.time()):
            return  # ahead of real time by more than the slack: dropped, never analysed
        # Asterisk sends 20 ms frames; other sizes are re-cut so the VAD always sees 20 ms.
        self._inbound += packet.payload
        if self.endpointer is None:
            # Before the call is answered: the caller may already be talking (bunched audio
            # comes in one read with the first frame), so the last 2 s are kept for the VAD.
            excess = len(self._inbound) - frame_size(self.sample_rate, EARLY_AUDIO_MS)
            if excess > 0:
                del self._inbound[: excess + excess % 2]
            return
        self._feed_inbound()

    def _feed_inbound(self) -> None:
        size = frame_size(self.sample_rate, FRAME_MS)
        # Frames that came in one read were spoken one after another, ending now; but bunched
        # audio never puts a frame before the call began or before the frames already heard.
        now_ms = self.elapsed_ms()
        at_ms = now_ms - (len(self._inbound) // size - 1) * FRAME_MS
        while len(self._inbound) >= size:
            frame = bytes(self._inbound[:size])
            del self._inbound[:size]
            self._audio_ms = min(now_ms, max(at_ms, self._audio_ms))
            events = self.endpointer.feed(frame, self._audio_ms)
            at_ms += FRAME_MS
            for event in events:
                if isinstance(event, SpeechStarted):
                    self._on_speech_started()
                elif isinstance(event, SpeechPaused):
                    self.hearing.paused(event.utterance)
                else:
                    self.utterances.put_nowait(event)

    def _on_speech_started(self) -> None:
        if self.services.barge_in and self.player is not None and self.player.is_playing:
            self.barge_in()

    def barge_in(self) -> None:
        """The caller speaks over the bot: its audio stops at the next frame."""
        self.barge_ins += 1
        assert self.player is not None
        self.player.stop()
        logger.info("call %s: caller barged in", self.uuid)

    def on_dtmf(self, digit: str) -> None:
        """A key the caller pressed: recorded as a caller turn, and gathered into an entry that
        "#" or a pause ends (an order number, a phone number, 0 for an operator).

        Bounded (calls.keypad): keys faster than a person presses are dropped and a flood of
        them raises KeypadFlood; an entry keeps its first MAX_ENTRY_DIGITS digits, so the agent
        (and the voice reading it back) never gets more than a phone or order number."""
        if not self.keypad.allow(self._loop.time()):
            return
        if self.keypad.record():
            self.dtmf_digits.append(digit)
            at = self.elapsed_ms()
            self.record_turn(TurnRole.CALLER, digit, at, at, via=TurnInput.DTMF)
        if self.player is not None and self.player.is_playing:
            self.barge_in()  # callers key in over a prompt
        if self._keys_timer is not None:
            self._keys_timer.cancel()
            self._keys_timer = None
        if digit == "#":
            self._end_entry()
            return
        self.keypad.add(digit)
        self._keys_timer = self._loop.call_later(KEYED_ENTRY_PAUSE, self._end_entry)

    def _end_entry(self) -> None:
        self._keys_timer = None
        if self.keypad.entering:
            self.utterances.put_nowait(KeyedEntry(self.keypad.finish()))

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

    async def say(
        self, text: str, *, timing: TurnTiming | None = None, answered: bool = False
    ) -> Spoken:
        """Speak text, sentence by sentence: the first plays while the next are synthesised.

        Returns what the caller heard; the bot's turn is recorded with it and its timings.
        """
        assert self.player is not None and self.sample_rate is not None
        sentences = split_sentences(text) or [text]
        barge_ins = self.barge_ins
        # The TTS executor takes them in order, so sentence 1 is ready first.
        synthesis = [
            asyncio.ensure_future(self.tts.get(sentence, self.language, self.sample_rate))
            for sentence in sentences
        ]
        parts: list[tuple[str, Playback]] = []
        first_audio_ms: int | None = None
        try:
            for sentence, pending in zip(sentences, synthesis, strict=True):
                # A caller who hangs up while a sentence is synthesised heard those before it.
                if not await unless_set(pending, self.ended):
                    break
                pcm = pending.result()
                if first_audio_ms is None:
                    first_audio_ms = self.elapsed_ms()
                if self.ended.is_set() or self.barge_ins != barge_ins:
                    break
                parts.append((sentence, self.player.play(pcm)))
                if answered and len(parts) == 1:
                    self.recorder.call_updated(self.uuid, answered_at=timezone.now())
            if parts:
                await parts[-1][1].done
        finally:
            for pending in synthesis:
                pending.cancel()
        played_ms = sum(playback.played_ms for _, playback in parts)
        interrupted = (
            self.barge_ins != barge_ins
            or len(parts) < len(sentences)
            or any(p.interrupted for _, p in parts)
        )
        spoken = Spoken(heard_text(parts), played_ms, interrupted)
        first_frame_ms = (
            self._call_ms(parts[0][1].first_frame_at)
            if parts and parts[0][1].frames_played
            else None
        )
        start_ms = first_frame_ms if first_frame_ms is not None else self.elapsed_ms()
        stages = {}
        if timing is not None:
            stages = {
                "endpoint_ms": timing.endpoint_ms,
                "stt_ms": timing.stt_ms,
                "agent_ms": timing.agent_ms,
                "tts_ms": _between(timing.reply_ready_ms, first_audio_ms),
                "total_ms": _between(timing.speech_ended_ms, first_frame_ms),
            }
            metrics.observe_turn(**{k.removesuffix("_ms"): v for k, v in stages.items()})
        self.record_turn(
            TurnRole.BOT,
            spoken.text if interrupted else text,
            start_ms,
            start_ms + played_ms,
            interrupted=interrupted,
            **stages,
        )
        return spoken

    async def transcribe(self, utterance: Utterance) -> Transcript:
        return await self.hearing.transcribe(utterance)  # calls/hearing.py

    # --- Helpers --------------------------------------------------------------------------------

    def elapsed_ms(self) -> int:
        return int((self._loop.time() - self._t0) * 1000)

    def _call_ms(self, loop_time: float | None) -> int | None:
        return None if loop_time is None else int((loop_time - self._t0) * 1000)

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
        metrics.TURNS.labels(role).inc()
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


def _between(start_ms: int | None, end_ms: int | None) -> int | None:
    if start_ms is None or end_ms is None:
        return None
    return max(0, end_ms - start_ms)
