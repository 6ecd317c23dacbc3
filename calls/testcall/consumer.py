"""The test-call websocket (/ws/test-call/): the admin's Test call page talks to the bot through
it, by voice (a CallSession over a BrowserTransport) or by text (TextCall). The protocol is in
docs/test-calls.md.

Only active staff with `calls.place_test_call` (superusers have every permission) get in; anyone
else's handshake is refused, so the browser sees HTTP 403. A test call is a Call like any other,
marked `is_test`; its orders are sandbox unless the tester ticked "place real orders"
(orders/services.py reads that off the call's row, which is written here before a word is said).
"""

import asyncio
import json
import logging
import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from ..consumers import staff_with_permission
from ..language_settings import shop_languages
from ..models import Call, CallOutcome, CallStatus
from ..session import CallSession, SessionConfig
from .browser import BrowserTransport
from .events import TestCallEvents
from .runtime import runtime
from .text import TextCall

logger = logging.getLogger(__name__)

PERMISSION = "calls.place_test_call"
MODES = ("voice", "text")
SAMPLE_RATES = (16000, 8000)
DTMF_DIGITS = frozenset("0123456789*#")
# A text chat left open in a forgotten tab would hold one of TEST_CALLS_MAX for ever.
TEXT_IDLE_TIMEOUT = 600.0
_CLOSE = object()  # the outbox's last item: close the socket


def may_place_test_calls(user) -> bool:
    return staff_with_permission(user, PERMISSION)


def create_test_call(call_uuid: uuid.UUID, language: str, real_orders: bool) -> None:
    """The call's row, marked as a test, before the agent can place an order in it."""
    Call.objects.create(
        uuid=call_uuid,
        language=language,
        status=CallStatus.IN_PROGRESS,
        is_test=True,
        test_real_orders=real_orders,
    )


def read_orders(call_uuid: uuid.UUID) -> list[str]:
    return list(
        Call.objects.get(uuid=call_uuid)
        .orders.order_by("created_at")
        .values_list("number", flat=True)
    )


class StartError(ValueError):
    """The start message is not one the protocol allows; the message says why."""


def parse_start(message: dict, languages: tuple[str, ...]) -> dict:
    if message.get("type") != "start":
        raise StartError('the first message must be {"type": "start", ...}')
    mode = message.get("mode")
    if mode not in MODES:
        raise StartError(f"mode must be one of {', '.join(MODES)}")
    rate = message.get("sample_rate", 16000)
    if mode == "voice" and rate not in SAMPLE_RATES:
        raise StartError("sample_rate must be 16000 or 8000")
    language = message.get("language") or ""
    if language and language not in languages:
        raise StartError(f"language must be one of the shop's: {', '.join(languages)}")
    language = language or languages[0]
    return {
        "mode": mode,
        "sample_rate": rate if mode == "voice" else None,
        "phone_quality": bool(message.get("phone_quality")),
        "language": language,
        "languages": (language, *(code for code in languages if code != language)),
        "real_orders": message.get("real_orders") is True,
    }


class TestCallConsumer(AsyncWebsocketConsumer):
    """One socket, one test call: the start message, then the call until either side ends it."""

    __test__ = False  # a test call, not a test: pytest must not collect it

    # The socket talks to its page only: no channel-layer channel to listen on (with Redis, a
    # blocking read per open socket for nothing).
    channel_layer_alias = "test calls use no channel layer"

    async def connect(self) -> None:
        self.call_uuid: uuid.UUID | None = None
        self.options: dict = {}
        self.session: CallSession | None = None
        self.transport: BrowserTransport | None = None
        self.text_call: TextCall | None = None
        self._admitted = False
        self._ended = False
        self._run: asyncio.Task | None = None
        self._outbox: asyncio.Queue = asyncio.Queue()
        self._sender: asyncio.Task | None = None
        self._idle: asyncio.TimerHandle | None = None
        if not await database_sync_to_async(may_place_test_calls)(self.scope.get("user")):
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        await self.accept()
        self._sender = asyncio.create_task(self._send_outbox())

    # --- Outbound: one queue, so events and audio leave in the order they happened ---------------

    def emit(self, event: dict) -> None:
        self._outbox.put_nowait(json.dumps(event))

    def _send_audio(self, frame: bytes) -> None:
        if self.transport is not None:
            self.transport.backlog += len(frame)
        self._outbox.put_nowait(frame)

    async def _send_outbox(self) -> None:
        while True:
            item = await self._outbox.get()
            if item is _CLOSE:
                await self.close(code=1000)
                return
            try:
                if isinstance(item, bytes):
                    if self.transport is not None:
                        self.transport.backlog -= len(item)
                    await self.send(bytes_data=item)
                else:
                    await self.send(text_data=item)
            except Exception:
                logger.warning("test call %s: the page went away", self.call_uuid)
                return

    async def _fail(self, message: str) -> None:
        self.emit({"type": "error", "message": message})
        self._outbox.put_nowait(_CLOSE)

    # --- Inbound --------------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if bytes_data is not None:
            if self.transport is not None and not self._ended:
                if len(bytes_data) % 2:
                    self.emit({"type": "error", "message": "audio must be 16-bit samples"})
                    return
                self.transport.feed_audio(bytes_data)
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.emit({"type": "error", "message": "messages are JSON objects"})
            return
        if self.call_uuid is None:
            await self._start(message)
            return
        kind = message.get("type")
        if kind == "hangup":
            await self._hang_up()
        elif kind == "dtmf":
            digit = str(message.get("digit", ""))
            if digit not in DTMF_DIGITS or len(digit) != 1:
                self.emit({"type": "error", "message": "digit must be one of 0-9, * and #"})
            elif self.transport is not None:
                self.transport.feed_dtmf(digit)
            elif self.text_call is not None:
                await self.text_call.keys(digit)
                await self._end_if_over()
        elif kind == "text" and self.text_call is not None:
            self._arm_idle_timer()
            await self.text_call.hear(str(message.get("text", "")))
            await self._end_if_over()
        elif kind == "start":
            self.emit({"type": "error", "message": "the call has already started"})
        else:
            self.emit({"type": "error", "message": f"unexpected message {kind!r}"})

    async def _start(self, message: dict) -> None:
        try:
            options = parse_start(message, shop_languages())
        except StartError as error:
            await self._fail(str(error))
            return
        shared = runtime()
        if not shared.admit():
            await self._fail(
                f"{settings.TEST_CALLS_MAX} test calls are under way, the most this server "
                "takes at once: try again in a minute"
            )
            return
        self._admitted = True
        self.options = options
        self.call_uuid = uuid.uuid4()
        try:
            services = self._services = await shared.services()
            await database_sync_to_async(create_test_call)(
                self.call_uuid, options["language"], options["real_orders"]
            )
        except Exception:
            logger.exception("test call: could not start")
            await self._fail("the test call could not start: see the server's log")
            self._release()
            return
        self.emit(
            {
                "type": "started",
                "call": str(self.call_uuid),
                "mode": options["mode"],
                "sample_rate": options["sample_rate"],
                "language": options["language"],
            }
        )
        logger.info(
            "test call %s (%s) started by user %s",
            self.call_uuid,
            options["mode"],
            getattr(self.scope.get("user"), "pk", None),
        )
        if options["mode"] == "text":
            self.text_call = TextCall(self.call_uuid, services, options["languages"])
            services.recorder.watch(
                self.call_uuid, TestCallEvents(self.text_call.context, self.emit)
            )
            self.text_call.start()
            return
        self.transport = BrowserTransport(
            options["sample_rate"],
            self._send_audio,
            phone_quality=options["phone_quality"],
            peer=self.scope.get("client"),
        )
        config = SessionConfig(
            language=options["language"],
            languages=options["languages"],
            idle_timeout=settings.AUDIOSOCKET_IDLE_TIMEOUT,
        )
        self.session = CallSession(self.call_uuid, self.transport, services, config)
        services.recorder.watch(self.call_uuid, TestCallEvents(self.session.context, self.emit))
        self._run = asyncio.create_task(self._run_voice())

    async def _run_voice(self) -> None:
        try:
            await self.session.run([])
        finally:
            await self._finish(self.session.end_reason, self.session.outcome)

    def _arm_idle_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(
            TEXT_IDLE_TIMEOUT, lambda: asyncio.ensure_future(self._text_idle())
        )

    async def _text_idle(self) -> None:
        if self.text_call is not None and not self.text_call.ended:
            self.text_call.end(
                f"no message for {TEXT_IDLE_TIMEOUT:g} s (idle time-out)", CallOutcome.ABANDONED
            )
            await self._end_if_over()

    async def _hang_up(self) -> None:
        if self.transport is not None:
            self.transport.feed_hangup()  # the session ends it; _run_voice reports it
        elif self.text_call is not None:
            self.text_call.end("caller hung up", CallOutcome.ABANDONED)
            await self._end_if_over()

    async def _end_if_over(self) -> None:
        if self.text_call is not None and self.text_call.ended:
            await self._finish(self.text_call.end_reason, self.text_call.outcome)

    async def _finish(self, reason: str, outcome: str) -> None:
        """The call is over: tell the page how, and which orders it placed; then close."""
        if self._ended:
            return
        self._ended = True
        if self._idle is not None:
            self._idle.cancel()
        self._services.recorder.watch(self.call_uuid, None)
        self._release()
        try:
            orders = await database_sync_to_async(read_orders)(self.call_uuid)
        except Exception:
            logger.exception("test call %s: its orders could not be read", self.call_uuid)
            orders = []
        self.emit(
            {
                "type": "ended",
                "reason": reason,
                "outcome": outcome,
                "orders": orders,
                "sandbox": not self.options.get("real_orders", False),
            }
        )
        self._outbox.put_nowait(_CLOSE)

    def _release(self) -> None:
        if self._admitted:
            self._admitted = False
            runtime().release()

    async def disconnect(self, code) -> None:
        if self.transport is not None:
            self.transport.peer_closed()  # the session ends the call ("connection closed")
        elif self.text_call is not None and not self.text_call.ended:
            self.text_call.end("the page closed the connection", CallOutcome.ABANDONED)
            await self._finish(self.text_call.end_reason, self.text_call.outcome)
        self._release()
        if self.call_uuid is None and self._sender is not None:
            self._sender.cancel()  # no call: nothing more to send
