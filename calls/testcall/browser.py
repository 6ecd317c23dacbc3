"""The browser's test-call websocket as a transport of the call pipeline (calls/transport.py).

The consumer feeds it what the page sends (PCM16 at the page's rate, keys, hang-up); the session
reads them as the AudioSocket codec's packets. The session's outbound frames go back as binary
websocket messages at the page's rate, frames of pure silence skipped (a browser needs no
comfort noise to keep a line up). With phone quality the audio takes the telephone path both
ways: the session runs at 8 kHz, and every frame goes through G.711 mu-law
(calls/voice/telephone.py), so the owner, and the recognizer, get what a caller's phone gives.
"""

import asyncio
from collections import deque
from collections.abc import Callable

import numpy as np
import soxr

from ..audiosocket.protocol import AUDIO_KIND_BY_RATE, Kind, Packet
from ..transport import ConnectionClosed
from ..voice.audio import frame_size
from ..voice.telephone import PHONE_RATE, mulaw_round_trip

# More than this many bytes of audio waiting for the socket means the page stopped reading
# (about 4 s at 16 kHz): the session ends the call rather than buffer without bound.
MAX_WRITE_BACKLOG = 128 * 1024


class _Stream:
    """A streaming resampler (no clicks at chunk edges, as resampling each frame alone would).
    Low quality is plenty for a band the phone line limits to 3.4 kHz anyway, and its filter
    delays the audio about 25 ms where the high quality one takes about 100."""

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self._stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="int16", quality="LQ")

    def __call__(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm, dtype="<i2")
        return self._stream.resample_chunk(samples).astype("<i2").tobytes()


class BrowserTransport:
    """One test call's audio between the page and the session."""

    name = "the browser"

    def __init__(
        self,
        client_rate: int,
        send: Callable[[bytes], None],
        *,
        phone_quality: bool = False,
        peer: object = None,
    ) -> None:
        self.client_rate = client_rate
        self.phone_quality = phone_quality
        self.session_rate = PHONE_RATE if phone_quality else client_rate
        self.peer = peer
        self._send = send
        self._kind = AUDIO_KIND_BY_RATE[self.session_rate]
        resampled = self.session_rate != client_rate
        self._inbound = _Stream(client_rate, self.session_rate) if resampled else None
        self._outbound = _Stream(self.session_rate, client_rate) if resampled else None
        self._packets: deque[Packet] = deque()
        self._arrived = asyncio.Event()
        self._closed = False  # the page went away
        self._hung_up = False  # the session ended the call
        self.backlog = 0  # bytes handed to `send` and not yet on the socket (the consumer says)
        self.frames_sent = 0
        # The session learns the call's rate from its first audio: it is known from the start.
        self._put(Packet(self._kind, bytes(frame_size(self.session_rate))))

    # --- What the consumer feeds in -------------------------------------------------------------

    def feed_audio(self, pcm: bytes) -> None:
        """PCM16 LE mono at the page's rate (an even number of bytes)."""
        if self._inbound is not None:
            pcm = self._inbound(pcm)
        if self.phone_quality:
            pcm = mulaw_round_trip(pcm)
        if pcm:
            self._put(Packet(self._kind, pcm))

    def feed_dtmf(self, digit: str) -> None:
        self._put(Packet(Kind.DTMF, digit.encode("ascii")))

    def feed_hangup(self) -> None:
        self._put(Packet(Kind.HANGUP))

    def peer_closed(self) -> None:
        """The websocket closed: the session's next read raises ConnectionClosed."""
        self._closed = True
        self._arrived.set()  # wakes a waiting read

    def _put(self, packet: Packet) -> None:
        self._packets.append(packet)
        self._arrived.set()

    # --- The transport interface ----------------------------------------------------------------

    async def read_packets(self, timeout: float) -> list[Packet]:
        if not self._packets:
            if self._closed:
                raise ConnectionClosed("the page closed the connection")
            self._arrived.clear()
            async with asyncio.timeout(timeout):
                await self._arrived.wait()
            if not self._packets:
                raise ConnectionClosed("the page closed the connection")
        packets = list(self._packets)
        self._packets.clear()
        return packets

    def encode_audio(self, pcm: bytes, sample_rate: int) -> bytes:
        if self.phone_quality:
            pcm = mulaw_round_trip(pcm)
        if self._outbound is not None:
            pcm = self._outbound(pcm)
        return pcm

    def send(self, data: bytes) -> None:
        if self._closed or self._hung_up or not data or not any(data):
            return  # pure silence is not sent
        self.frames_sent += 1
        self._send(data)

    @property
    def write_backlog(self) -> int:
        return self.backlog

    @property
    def stalled(self) -> bool:
        return self.backlog > MAX_WRITE_BACKLOG

    async def hang_up_and_close(self, send_hangup: bool = True) -> None:
        """The call is over: no more audio to the page (the consumer reports the end)."""
        self._hung_up = True
