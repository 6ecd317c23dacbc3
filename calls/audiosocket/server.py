"""The asyncio AudioSocket server: accepts Asterisk's connections, enforces the limits, hands each
call to a CallSession, and drains on SIGTERM.

Limits: peers outside the allow-list are refused; at most `max_pending` connections may wait
for their UUID (more are closed at once); the first packet must be the call's UUID within the
handshake time-out; above `max_calls` a caller hears a short busy message and is hung up; a
connection that breaks the protocol or goes silent is ended (hang-up sent, reason stored), never
the server. Warnings a flood repeats are logged once per interval with a count, and so is
asyncio's own report of an accept that failed for want of open files.
"""

import asyncio
import ipaddress
import logging
import time
import uuid
from dataclasses import dataclass, field

from django.utils import timezone

from calls import admission, db_threads, metrics
from calls.call_services import build_call_services
from calls.conversation import converse
from calls.models import CallOutcome, CallStatus
from calls.prompts import BUSY, prompt_sentences
from calls.reconcile import end_orphaned_calls_now_and_then
from calls.session import CallSession, SessionConfig

from .connection import CallConnection, ConnectionClosed
from .limits import ThrottledLog, TokenBucket, accept_out_of_resource, raise_file_limit
from .protocol import Kind, ProtocolError
from .status import StatusEndpoint

logger = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REUSED_UUID = "call %s has already ended: refusing a connection that reuses its UUID from %s"
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
# Open files the process needs besides its connections: database, Redis, engines, logs.
RESERVED_FILES = 256
LOG_INTERVAL = 10.0  # seconds: a repeated warning is summarised once per interval
# Connections that break the protocol before their UUID are recorded (with a made-up UUID) at
# this rate at most: a flood of garbage connections must not become a flood of database rows.
REJECTED_RECORDS_PER_SECOND, REJECTED_RECORDS_BURST = 1.0, 20


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 9092
    max_calls: int = 200
    handshake_timeout: float = 5.0
    idle_timeout: float = 10.0
    grace_period: float = 60.0
    allowed_peers: tuple[IPNetwork, ...] = LOOPBACK
    language: str = "en"
    languages: tuple[str, ...] = ()  # the shop's, `language` first (calls/language.py)
    # 20 ms at 192 kHz is 7,680 bytes; anything far above is not a frame Asterisk would send.
    max_payload: int = 16 * 1024
    reuse_port: bool = False
    # Busy messages played at once above max_calls; a flood beyond this is hung up silently.
    max_busy: int = 20
    # Connections still waiting for their UUID (Asterisk sends it at once); more are closed at
    # once, so a flood of silent connections cannot use up the process's open files.
    max_pending: int = 256
    # Extra calls prompts are rendered for before the first call (both common rates).
    warm_sample_rates: tuple[int, ...] = field(default=(8000, 16000))
    # /metrics (Prometheus) and /healthz over HTTP on metrics_host:metrics_port; 0 is off.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"


def peer_allowed(peer, allowed: tuple[IPNetwork, ...]) -> bool:
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


class AudioSocketServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        # Engines are built once per process (calls/call_services.py).
        self._built = build_call_services(config.max_calls)
        self.services = self._built.services
        self.tts_executor, self.stt_executor = self._built.tts_executor, self._built.stt_executor
        self.clock = self.services.clock
        self.recorder = self.services.recorder
        self.tts = self.services.tts
        self.session_config = SessionConfig(
            language=config.language,
            languages=config.languages or (config.language,),
            idle_timeout=config.idle_timeout,
        )
        self.sessions: dict[uuid.UUID, CallSession] = {}
        self._busy = 0
        self._pending = 0
        self._log = ThrottledLog(logger, LOG_INTERVAL)
        self._log_timer: asyncio.TimerHandle | None = None
        self._loop_handler: tuple[asyncio.AbstractEventLoop, object] | None = None
        self._rejected_records = TokenBucket(
            REJECTED_RECORDS_PER_SECOND, REJECTED_RECORDS_BURST, time.monotonic()
        )
        self._handlers: set[asyncio.Task] = set()
        self._server: asyncio.Server | None = None
        self._status: StatusEndpoint | None = None
        self.accepting = False
        self._reconciler: asyncio.Future | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    def _check_file_limit(self) -> None:
        config = self.config
        needed = config.max_calls + config.max_busy + config.max_pending + RESERVED_FILES
        soft, _ = raise_file_limit(needed)
        if soft < needed:
            logger.warning(
                "open-file limit %d is below the %d that --max-calls %d and --max-pending %d "
                "need: lower them or raise the limit (ulimit -n)",
                soft,
                needed,
                config.max_calls,
                config.max_pending,
            )

    def _warn(self, kind: str, message: str, *args) -> None:
        """A warning a flood repeats: once per interval, then a count."""
        self._log.warning(kind, asyncio.get_running_loop().time(), message, *args)

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """The loop's exception handler while the server runs: a connection flood that uses up
        the open files makes asyncio report every failed accept with a traceback (megabytes of
        log a minute); that report is a throttled warning. Anything else goes on as before."""
        error = accept_out_of_resource(context)
        if error is not None:
            self._warn(
                "out of files",
                "cannot accept connections: %s (errno %d); retrying each second. If it lasts, "
                "raise the open-file limit (ulimit -n) or lower --max-calls / --max-pending",
                error.strerror,
                error.errno,
            )
            return
        previous = self._loop_handler[1] if self._loop_handler else None
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def _flush_log(self) -> None:
        loop = asyncio.get_running_loop()
        self._log.flush(loop.time())
        self._log_timer = loop.call_later(LOG_INTERVAL, self._flush_log)

    async def start(self) -> None:
        self._check_file_limit()
        loop = asyncio.get_running_loop()
        self._loop_handler = (loop, loop.get_exception_handler())
        loop.set_exception_handler(self._loop_error)
        self._flush_log()
        if self.config.metrics_port:
            # Bound first: a metrics port in use stops start-up before any call is taken.
            self._status = StatusEndpoint(self, self.config.metrics_host, self.config.metrics_port)
            self._status.start()
        self.clock.start()
        db_threads.keep_connections(True)
        await self.recorder.recover()  # records a stopped process left in the spool
        self.recorder.start()
        self._server = await asyncio.start_server(
            self._accept,
            self.config.host,
            self.config.port,
            reuse_port=self.config.reuse_port or None,
            backlog=self._listen_backlog(),
        )
        self.accepting = True
        # Load the fixed prompts (rendering any the store lacks) in the background, so the
        # first caller hears no delay.
        self._warm_tasks = {
            asyncio.ensure_future(self._warm(sentence, language, rate))
            for language in self.session_config.languages
            for rate in self.config.warm_sample_rates
            for sentence in prompt_sentences(language)
        }
        self._warm_tasks.add(asyncio.ensure_future(self._warm_stt()))
        self._reconciler = asyncio.ensure_future(end_orphaned_calls_now_and_then())

    def _listen_backlog(self) -> int:
        """The kernel's queue of connections not yet accepted holds every connection the server
        is willing to hold (calls, busy messages, pending handshakes). A smaller one overflows in
        a burst: the kernel drops the peer's handshake ACK, the peer believes it is connected,
        and the connection is accepted only after SYN-ACK retransmissions back off (1, 2, 4 ...
        s) or never. Linux caps it at net.core.somaxconn (4096 by default)."""
        config = self.config
        return max(128, config.max_calls + config.max_busy + config.max_pending)

    async def _warm(self, text: str, language: str, rate: int) -> None:
        try:
            await self.tts.get(text, language, rate, prompt=True)
        except Exception:
            logger.exception("could not render the prompt %r at %d Hz ahead of time", text, rate)

    async def _warm_stt(self) -> None:
        """One transcription of a second of silence: a local engine allocates its working
        memory now, not during the first caller's turn."""
        rate = self.config.warm_sample_rates[0]
        stt = self.services.stt
        if not stt.local:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.stt_executor, stt.transcribe, bytes(2 * rate), rate, self.config.language
            )
        except Exception:
            logger.warning("the speech-to-text engine failed its warm-up", exc_info=True)

    # --- Connections ----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._pending >= self.config.max_pending:
            self._warn(
                "pending",
                "%d connections are waiting for their UUID: closing new ones at once",
                self._pending,
            )
            writer.transport.abort()
            return
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await self._serve_connection(reader, writer)
        except Exception:
            # Whatever went wrong belongs to this connection only; everyone else carries on.
            logger.exception("connection from %s failed", writer.get_extra_info("peername"))
            writer.transport.abort()
        finally:
            self._handlers.discard(task)

    async def _serve_connection(self, reader, writer) -> None:
        peer = writer.get_extra_info("peername")
        if not peer_allowed(peer, self.config.allowed_peers):
            self._warn("refused", "refused a connection from %s: not in the allowed peers", peer)
            writer.transport.abort()
            return
        connection = CallConnection(reader, writer, self.config.max_payload)
        if not self.accepting:
            await connection.hang_up_and_close()
            return
        self._pending += 1
        try:
            packets = await connection.read_packets(self.config.handshake_timeout)
            first = packets[0]
            if first.kind != Kind.UUID:
                raise ProtocolError(f"the first packet must be the UUID, not {first.kind.name}")
        except TimeoutError:
            timeout = self.config.handshake_timeout
            self._warn("no UUID", "no UUID from %s within %g s: hanging up", peer, timeout)
            await connection.hang_up_and_close()
            return
        except ConnectionClosed:
            # A port probe or health check: nothing was said, nothing to record.
            logger.debug("%s closed the connection before its UUID", peer)
            await connection.close()
            return
        except ProtocolError as error:
            if self._rejected_records.take(1, time.monotonic()):
                self._record_rejected(uuid.uuid4(), f"protocol error before the UUID: {error}")
            self._warn(
                "protocol error",
                "protocol error from %s before the UUID: %s; hanging up",
                peer,
                error,
            )
            await connection.hang_up_and_close()
            return
        finally:
            self._pending -= 1

        call_uuid = first.uuid
        if self.recorder.has_ended(call_uuid):
            # A finished call is final: a reconnect with its UUID must not rewrite its outcome.
            logger.warning(REUSED_UUID, call_uuid, peer)
            await connection.hang_up_and_close()
            return
        if call_uuid in self.sessions:
            logger.warning("call %s is already connected; refusing a second connection", call_uuid)
            await connection.hang_up_and_close()
            return
        if len(self.sessions) >= self.config.max_calls:
            await self._turn_away(call_uuid, connection, packets[1:])
            return
        if refusal := admission.new_call(self.stt_executor):
            await self._turn_away(call_uuid, connection, packets[1:], refusal)
            return

        # Asked while the call starts (its media flows meanwhile); awaited before a word is said.
        check = asyncio.ensure_future(self.recorder.stored_as_ended(call_uuid))
        session = self._new_session(
            call_uuid, connection, on_answer=lambda s: self._answer_if_new(s, check)
        )
        self.sessions[call_uuid] = session
        metrics.ACTIVE_CALLS.inc()
        metrics.CALLS_STARTED.inc()
        try:
            await session.run(packets[1:])
        finally:
            check.cancel()
            del self.sessions[call_uuid]
            metrics.ACTIVE_CALLS.dec()

    async def _answer_if_new(self, session: CallSession, stored_as_ended: asyncio.Future) -> None:
        if not await stored_as_ended:
            await converse(session)
            return
        logger.warning(REUSED_UUID, session.uuid, session.connection.peer)
        self.recorder.refuse(session.uuid)
        await session.end("refused: the UUID of a call that has ended", CallOutcome.FAILED)

    async def _turn_away(
        self, call_uuid: uuid.UUID, connection: CallConnection, packets, refusal=None
    ) -> None:
        """Above max_calls (or speech-to-text's capacity: the refusal): a short message, then
        hang-up, recorded as a failed call (or with the refusal's outcome)."""
        refusal = refusal or admission.Refusal(
            BUSY, CallOutcome.FAILED, f"busy: all {self.config.max_calls} lines in use"
        )
        if self._busy >= self.config.max_busy:
            self._record_rejected(call_uuid, refusal.reason)
            await connection.hang_up_and_close()
            return
        self._busy += 1
        try:
            session = self._new_session(
                call_uuid, connection, on_answer=lambda s: admission.turn_away(s, refusal)
            )
            await session.run(packets)
        finally:
            self._busy -= 1
        self._warn("busy", "call %s turned away: %s", call_uuid, refusal.reason)

    def _new_session(self, call_uuid: uuid.UUID, connection: CallConnection, **kwargs):
        return CallSession(call_uuid, connection, self.services, self.session_config, **kwargs)

    def _record_rejected(self, call_uuid: uuid.UUID, reason: str) -> None:
        now = timezone.now()
        self.recorder.call_started(
            call_uuid, started_at=now, language=self.config.language, status=CallStatus.IN_PROGRESS
        )
        self.recorder.call_ended(
            call_uuid,
            status=CallStatus.ENDED,
            outcome=CallOutcome.FAILED,
            end_reason=reason[:200],
            ended_at=now,
        )

    # --- Shutdown -------------------------------------------------------------------------------

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop accepting, let live calls finish for `grace` seconds, hang up the rest, flush."""
        grace = self.config.grace_period if grace is None else grace
        self.accepting = False
        if self._server is not None:
            self._server.close()
        live = set(self._handlers)
        if live:
            logger.info("draining: %d calls in progress, up to %g s", len(self.sessions), grace)
            _, pending = await asyncio.wait(live, timeout=grace)
            if pending:
                logger.warning("grace period over: hanging up %d calls", len(self.sessions))
                for session in list(self.sessions.values()):
                    await session.hang_up("server shutting down")
                _, pending = await asyncio.wait(pending, timeout=5)
                for task in pending:
                    task.cancel()
        if self._reconciler is not None:
            self._reconciler.cancel()
        await self.clock.stop()
        written = await self.recorder.close()
        if self._log_timer is not None:
            self._log_timer.cancel()
        self._log.flush(float("inf"))
        if self._loop_handler is not None:
            loop, previous = self._loop_handler
            loop.set_exception_handler(previous)
            self._loop_handler = None
        self._built.shutdown()
        await asyncio.to_thread(db_threads.keep_connections, False)
        if self._status is not None:
            # Up until here, so that /healthz answers 503 (not accepting) while calls drain.
            await asyncio.to_thread(self._status.stop)
            self._status = None
        logger.info("stopped%s", "" if written else " (some call records could not be written)")
