"""One AudioSocket TCP connection: packets in through the codec, audio and hang-up out.

The AudioSocket implementation of the call pipeline's transport (calls/transport.py)."""

import asyncio
import logging
import socket

from ..transport import ConnectionClosed
from .protocol import Decoder, Packet, ProtocolError, encode_audio, encode_hangup

logger = logging.getLogger(__name__)

# One read is decoded and dispatched in one go on the loop that paces every call's audio, so
# it is kept small: 16 KiB holds two 20 ms frames at 192 kHz (a frame every read is the norm),
# but at most 4,096 four-byte DTMF packets from a flooding peer (a quarter of the old 64 KiB).
READ_SIZE = 16 * 1024
# More than this many bytes waiting to reach Asterisk means it stopped reading (~2 s at 16 kHz).
MAX_WRITE_BACKLOG = 128 * 1024


class CallConnection:
    """A CallTransport (calls/transport.py) over Asterisk's AudioSocket TCP connection."""

    name = "Asterisk"

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_payload: int
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = Decoder(max_payload=max_payload)
        self.peer = writer.get_extra_info("peername")
        self.bytes_in = 0
        self._deferred_error: ProtocolError | None = None
        self._reading: asyncio.Task | None = None
        self._read_started = 0.0
        self._read_span = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self._timed_out = False
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Frames must leave as soon as they are written, not wait to be coalesced.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def read_packets(self, timeout: float) -> list[Packet]:
        """The packets of the next read; raises ProtocolError, ConnectionClosed, or TimeoutError
        when no whole packet came within `timeout` seconds.

        Valid packets that came in the same read as a malformed one are returned first; the
        error is raised by the following call.
        """
        if self._deferred_error is not None:
            raise self._deferred_error
        # The time-out is for a whole packet, not for each read: a peer trickling a byte at a
        # time (slow loris) must not hold its connection past the handshake or idle time-out.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError
            try:
                data = await self._read(left)
            except ConnectionError as error:
                # A reset (RST) is the peer closing too, only abruptly (a port scan does it
                # before any UUID): not a server failure to log with a traceback.
                raise ConnectionClosed(f"the peer reset the connection: {error}") from error
            if not data:
                raise ConnectionClosed("the peer closed the connection")
            self.bytes_in += len(data)
            try:
                packets = self.decoder.feed(data)
            except ProtocolError as error:
                if not error.packets:
                    raise
                self._deferred_error = error
                return error.packets
            if packets:
                return packets

    async def _read(self, timeout: float) -> bytes:
        """One read of what the peer sent, or TimeoutError after `timeout` seconds of nothing.

        A read happens for every 20 ms frame of every call, so it arms no timer of its own (as
        asyncio.timeout would): one watchdog timer per connection checks the pending read's age
        and re-arms itself only when it fires.
        """
        loop = asyncio.get_running_loop()
        self._read_started = loop.time()
        self._read_span = timeout
        self._reading = asyncio.current_task()
        if self._watchdog is None:
            self._watchdog = loop.call_at(self._read_started + timeout, self._check_idle)
        try:
            return await self.reader.read(READ_SIZE)
        except asyncio.CancelledError:
            if self._timed_out:
                self._timed_out = False
                self._reading.uncancel()
                raise TimeoutError from None
            raise
        finally:
            self._reading = None

    def _check_idle(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._reading is not None and now - self._read_started >= self._read_span:
            self._watchdog = None
            self._timed_out = True
            self._reading.cancel()
            return
        start = self._read_started if self._reading is not None else now
        self._watchdog = loop.call_at(max(now, start) + self._read_span, self._check_idle)

    def encode_audio(self, pcm: bytes, sample_rate: int) -> bytes:
        """An AudioSocket audio packet of the kind for `sample_rate`."""
        return encode_audio(pcm, sample_rate)

    def send(self, data: bytes) -> None:
        """Queue bytes for the peer (header and payload always in one write)."""
        if not self.writer.is_closing():
            self.writer.write(data)

    @property
    def write_backlog(self) -> int:
        return self.writer.transport.get_write_buffer_size()

    @property
    def stalled(self) -> bool:
        return self.write_backlog > MAX_WRITE_BACKLOG

    async def hang_up_and_close(self, send_hangup: bool = True) -> None:
        if send_hangup:
            self.send(encode_hangup())
        await self.close()

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if not self.writer.is_closing():
            self.writer.close()
        try:
            async with asyncio.timeout(2):
                await self.writer.wait_closed()
        except (OSError, TimeoutError):
            # The peer is gone or not reading; the socket is closed on our side either way.
            self.writer.transport.abort()
