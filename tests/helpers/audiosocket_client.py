"""An asyncio AudioSocket client that behaves as Asterisk does, for tests and benchmarks.

It sends the call's UUID first, then audio in 20 ms frames at real-time pace (a frame every
20 ms against a monotonic clock, as a phone line delivers it), DTMF and hang-up; it reads the
server's packets and collects the bot's spoken replies.
"""

import asyncio
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from calls.audiosocket.protocol import (
    AUDIO_KIND_BY_RATE,
    Decoder,
    Kind,
    Packet,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
    frame_bytes,
)
from calls.voice.audio import peak, split_frames

FRAME_SECONDS = 0.02
# Frames whose loudest sample is below this are silence (the server's idle frames are zeros).
SILENCE_PEAK = 64
# The server sends a frame every 20 ms, idle or not, so no frame at all for this long means it
# stalled or stopped. Generous: on a busy machine a process can wait seconds for a core, and a
# reply must not be cut short for that (the pace itself is measured in loadtests/).
STALL_SECONDS = 5.0


class AudioSocketClientError(Exception):
    """The server did something a caller would not expect; the message says what."""


@dataclass
class AudioResponse:
    """The bot's audio from its first audible frame to the silence gap that ended it."""

    sample_rate: int
    pcm: bytes = b""
    frames: int = 0
    arrival_times: list[float] = field(default_factory=list)
    first_audio_at: float | None = None
    hung_up: bool = False

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) // 2 * 1000 // self.sample_rate


class AudioSocketClient:
    def __init__(self, reader, writer, call_uuid: uuid.UUID, sample_rate: int) -> None:
        if sample_rate not in AUDIO_KIND_BY_RATE:
            raise AudioSocketClientError(f"AudioSocket has no audio kind for {sample_rate} Hz")
        self.reader = reader
        self.writer = writer
        self.call_uuid = call_uuid
        self.sample_rate = sample_rate
        self.frame_size = frame_bytes(sample_rate)
        self._decoder = Decoder()
        self._inbox: deque[Packet] = deque()
        self._outbox: deque[bytes | asyncio.Future] = deque()
        self._mic_task: asyncio.Task | None = None
        self._background_silence = False
        self._silence_frame = encode_audio(bytes(self.frame_size), sample_rate)
        self.received_hangup = False
        self.closed = False
        self.last_audio_kind: Kind | None = None
        self.frames_sent = 0

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        call_uuid: uuid.UUID | None = None,
        sample_rate: int = 8000,
        timeout: float = 5.0,
    ) -> "AudioSocketClient":
        """Open the connection and send the UUID, as Asterisk does before any audio."""
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise AudioSocketClientError(
                f"could not connect to {host}:{port} within {timeout} s"
            ) from None
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(reader, writer, call_uuid or uuid.uuid4(), sample_rate)
        await client.send_raw(encode_uuid(client.call_uuid))
        return client

    async def __aenter__(self) -> "AudioSocketClient":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    # --- Sending ------------------------------------------------------------------------------

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (for malformed-input tests too)."""
        self.writer.write(data)
        await self.writer.drain()

    async def send_audio(self, pcm: bytes, *, realtime: bool = True) -> None:
        """Send PCM at the call's rate in 20 ms frames; returns once the last frame is sent.

        In real time, frames leave one every 20 ms (taking the place of background silence);
        otherwise they go out at once, as a burst.
        """
        frames = [
            encode_audio(frame, self.sample_rate) for frame in split_frames(pcm, self.sample_rate)
        ]
        if not realtime:
            await self.send_raw(b"".join(frames))
            self.frames_sent += len(frames)
            return
        sent = asyncio.get_running_loop().create_future()
        self._outbox.extend(frames)
        self._outbox.append(sent)
        self._ensure_microphone()
        await sent

    async def send_silence(self, ms: int) -> None:
        await self.send_audio(bytes(frame_bytes(self.sample_rate, ms)))

    async def send_dtmf(self, digit: str) -> None:
        await self.send_raw(encode_dtmf(digit))

    async def hangup(self) -> None:
        """Hang up as Asterisk does: a hang-up packet, then the socket closes."""
        await self.stop_background_silence()
        if not self.writer.is_closing():
            try:
                await self.send_raw(encode_hangup())
                # Then wait for the server to close. Closing at once with its frames unread
                # resets the connection, and a reset can drop the hang-up packet before a busy
                # server has read it (the call then ends as "connection closed by Asterisk").
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                await self.wait_closed(timeout=10)
            except (OSError, AudioSocketClientError):  # reset, closed, or no close in time
                pass
        await self.close()

    def start_background_silence(self) -> None:
        """Send a silence frame every 20 ms whenever no audio is being sent, as a live line does."""
        self._background_silence = True
        self._ensure_microphone()

    async def stop_background_silence(self) -> None:
        self._background_silence = False
        if not self._outbox:
            await self._stop_microphone()

    async def _stop_microphone(self) -> None:
        if self._mic_task is not None:
            self._mic_task.cancel()
            try:
                await self._mic_task
            except (asyncio.CancelledError, ConnectionError):
                pass
            self._mic_task = None

    def _ensure_microphone(self) -> None:
        if self._mic_task is None or self._mic_task.done():
            self._mic_task = asyncio.get_running_loop().create_task(self._microphone())

    async def _microphone(self) -> None:
        """One frame every 20 ms on an absolute schedule: queued audio first, else silence."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while self._outbox or self._background_silence:
            while self._outbox and isinstance(self._outbox[0], asyncio.Future):
                self._outbox.popleft().set_result(None)
            if not self._outbox and not self._background_silence:
                break
            frame = self._outbox.popleft() if self._outbox else self._silence_frame
            if self.writer.is_closing():
                break
            self.writer.write(frame)
            self.frames_sent += 1
            next_at += FRAME_SECONDS
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                next_at = loop.time()  # fell behind: resume the pace rather than burst
        for item in self._outbox:
            if isinstance(item, asyncio.Future) and not item.done():
                item.set_result(None)
        self._outbox.clear()

    # --- Receiving ----------------------------------------------------------------------------

    async def read_packet(self, timeout: float = 5.0) -> Packet:
        """The server's next packet; TimeoutError or AudioSocketClientError say what went wrong."""
        deadline = time.monotonic() + timeout
        while not self._inbox:
            if self.closed:
                raise AudioSocketClientError("the server closed the connection")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no packet from the server within {timeout} s")
            try:
                async with asyncio.timeout(left):
                    data = await self.reader.read(65536)
            except TimeoutError:
                raise TimeoutError(f"no packet from the server within {timeout} s") from None
            except ConnectionError:
                data = b""
            if not data:
                self.closed = True
                continue
            self._inbox.extend(self._decoder.feed(data))
        packet = self._inbox.popleft()
        if packet.kind == Kind.HANGUP:
            self.received_hangup = True
        elif packet.is_audio:
            self.last_audio_kind = packet.kind
        return packet

    async def read_audio_response(
        self,
        *,
        silence_gap_ms: int = 600,
        first_frame_timeout: float = 30.0,
        max_duration: float = 60.0,
    ) -> AudioResponse:
        """Wait for the bot to start speaking, then collect its audio until a silence gap.

        The gap is counted in audio (silent frames of 20 ms), not on the wall clock: frames that
        reach a loaded machine late, or in a bunch, are the same audio a phone would play.
        """
        response = AudioResponse(self.sample_rate)
        loop_start = time.monotonic()
        gap_frames = max(1, -(-silence_gap_ms // int(FRAME_SECONDS * 1000)))
        chunks: list[bytes] = []
        trailing: list[bytes] = []
        while True:
            now = time.monotonic()
            if response.first_audio_at is None:
                timeout = first_frame_timeout - (now - loop_start)
                if timeout <= 0:
                    raise TimeoutError(f"the bot said nothing within {first_frame_timeout} s")
            else:
                if now - response.first_audio_at > max_duration:
                    break
                timeout = max(silence_gap_ms / 1000, STALL_SECONDS)
            try:
                packet = await self.read_packet(timeout=timeout)
            except TimeoutError:
                if response.first_audio_at is None:
                    raise TimeoutError(
                        f"the bot said nothing within {first_frame_timeout} s"
                    ) from None
                break  # no frames at all: the server stopped sending, the reply is over
            except AudioSocketClientError:
                response.hung_up = self.received_hangup
                if response.first_audio_at is None:
                    raise
                break
            if packet.kind == Kind.HANGUP:
                response.hung_up = True
                if response.first_audio_at is None:
                    raise AudioSocketClientError("the server hung up before speaking")
                break
            if not packet.is_audio:
                continue
            arrived = time.monotonic()
            loud = peak(packet.payload) >= SILENCE_PEAK
            if response.first_audio_at is None:
                if not loud:
                    continue
                response.first_audio_at = arrived
            response.frames += 1
            response.arrival_times.append(arrived)
            if loud:
                chunks.extend(trailing)
                trailing = []
                chunks.append(packet.payload)
            else:
                trailing.append(packet.payload)
                if len(trailing) >= gap_frames:
                    break
        response.pcm = b"".join(chunks)
        return response

    async def wait_closed(self, timeout: float = 10.0) -> None:
        """Read (and drop) whatever comes until the server closes the connection."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the server kept the connection open past {timeout} s")
            try:
                await self.read_packet(timeout=left)
            except AudioSocketClientError:
                break

    async def close(self) -> None:
        self._background_silence = False
        await self._stop_microphone()
        if not self.writer.is_closing():
            self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2)
        except (ConnectionError, TimeoutError):
            pass
