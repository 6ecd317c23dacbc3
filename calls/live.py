"""Publishes what happens on live calls to the staff's monitor, through the channel layer.

The Recorder hands every change (a call started, changed or ended; a turn spoken) to one
LivePublisher per process. Handing over only appends to a bounded queue, so the event loop and
the 20 ms audio path never wait; one background task sends the events to the channel layer group
the monitor's consumers listen on. The monitor is best effort: when the queue is full the oldest
event is dropped, and when the layer (Redis) is away events are dropped and the outage is logged
once, while calls carry on.

The same JSON shapes are built here for the consumer's snapshot and its database polling, so
the browser sees one format whichever way an event travelled.
"""

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Mapping
from datetime import datetime

from . import metrics
from .background import stop_task

logger = logging.getLogger(__name__)

GROUP = "live_calls"
# Seconds close() waits for the sender to end once told to (a send in flight is cut short).
STOP_SECONDS = 2.0
# A valid channels type name: the consumer's handler is `call_event`.
EVENT_TYPE = "call.event"
# The columns a call's event carries (also the keys the consumer reads with `.values()`).
CALL_KEYS = ("uuid", "caller_number", "language", "status", "outcome", "started_at", "ended_at")
TURN_KEYS = ("sequence", "role", "via", "text", "interrupted", "start_ms")


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def call_payload(fields: Mapping) -> dict:
    """A call as the monitor shows it, from the recorder's fields or a `.values()` row."""
    payload = {key: _plain(fields.get(key)) for key in CALL_KEYS}
    payload["kind"] = "call"
    payload["caller_number"] = payload["caller_number"] or ""
    payload["outcome"] = payload["outcome"] or ""
    return payload


def turn_payload(call_uuid: uuid.UUID | str, fields: Mapping) -> dict:
    """One turn as the monitor shows it: the browser keys it by (call, sequence)."""
    payload = {key: _plain(fields.get(key)) for key in TURN_KEYS}
    payload.update(kind="turn", call=str(call_uuid), interrupted=bool(payload["interrupted"]))
    payload["via"] = payload["via"] or "voice"
    return payload


class LivePublisher:
    """Sends live events to the channel layer group from a background task, never blocking."""

    def __init__(
        self,
        maxsize: int = 2000,
        *,
        layer=None,
        group: str = GROUP,
        send_timeout: float = 2.0,
        max_retry_delay: float = 10.0,
    ) -> None:
        self.group = group
        self.send_timeout = send_timeout
        self.max_retry_delay = max_retry_delay
        self._layer = layer
        self._queue: deque[dict] = deque(maxlen=maxsize)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._outage = False
        self._closing = False
        self.sent = 0
        self.dropped = 0  # pushed out of a full queue
        self.failed = 0  # the layer refused them

    # --- What the recorder calls: memory only ---------------------------------------------------

    def call_changed(self, fields: Mapping) -> None:
        self.publish(call_payload(fields))

    def turn_spoken(self, call_uuid: uuid.UUID, fields: Mapping) -> None:
        self.publish(turn_payload(call_uuid, fields))

    def publish(self, event: dict) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # the deque pushes the oldest out
            metrics.LIVE_EVENTS.labels("dropped").inc()
        self._queue.append(event)
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    # --- The sender task ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is not None:
            return
        if self._layer is None:
            from channels.layers import get_channel_layer

            self._layer = get_channel_layer()
        if self._layer is None:
            logger.info("no channel layer configured: the live calls monitor gets no events")
            return
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="live-publisher")

    async def close(self, timeout: float = 2.0) -> None:
        """Send what is queued (briefly, unless the layer is away), then stop."""
        if self._task is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._queue and not self._outage and loop.time() < deadline:
            await asyncio.sleep(0.02)
        # The flag, besides the cancel: a cancellation that lands inside the channel layer's
        # group_send can be swallowed there (seen with channels_redis on Redis), and the task
        # would then wait on its wake-up event forever, holding the process after SIGTERM.
        self._closing = True
        self._wake.set()
        await stop_task(self._task, STOP_SECONDS)
        self._task = None

    async def _run(self) -> None:
        retry_delay = 0.5
        while not self._closing:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            event = self._queue.popleft()
            try:
                # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives as
                # the send completes, and close() would then wait for this task forever.
                async with asyncio.timeout(self.send_timeout):
                    await self._layer.group_send(self.group, {"type": EVENT_TYPE, "event": event})
            except Exception as error:
                self.failed += 1
                metrics.LIVE_EVENTS.labels("failed").inc()
                if not self._outage:
                    self._outage = True
                    logger.warning(
                        "live calls monitor: cannot publish to the channel layer (%s); "
                        "dropping live events until it is back",
                        error or type(error).__name__,
                    )
                await asyncio.sleep(retry_delay)
                retry_delay = min(retry_delay * 2, self.max_retry_delay)
                continue
            self.sent += 1
            metrics.LIVE_EVENTS.labels("sent").inc()
            retry_delay = 0.5
            if self._outage:
                self._outage = False
                logger.warning("live calls monitor: the channel layer is back")
