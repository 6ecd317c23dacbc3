"""The call pipeline's transport interface: what a CallSession needs from the wire it serves.

AudioSocket (calls/audiosocket/connection.py, Asterisk over TCP) and the browser's test-call
websocket (calls/testcall/browser.py) are the two transports of one pipeline. Inbound, a transport
hands the session `Packet`s of the AudioSocket codec's vocabulary (audio at a sample rate, a DTMF
digit, a hang-up, an error), whatever its own wire carries; outbound, the session's player encodes
each 20 ms frame with the transport's `encode_audio` and passes the bytes to `send`.
"""

from typing import Protocol

from .audiosocket.protocol import Packet


class ConnectionClosed(Exception):
    """The peer closed the transport (Asterisk's TCP connection, the browser's websocket)."""


class CallTransport(Protocol):
    peer: object  # who is on the other end, for the logs
    name: str  # what the peer is, in the reasons a call ends for ("Asterisk", "the browser")

    async def read_packets(self, timeout: float) -> list[Packet]:
        """The next packets; TimeoutError when none came within `timeout` seconds,
        ConnectionClosed when the peer went away (a ProtocolError for malformed input)."""
        ...

    def encode_audio(self, pcm: bytes, sample_rate: int) -> bytes:
        """One outbound frame of 16-bit PCM at `sample_rate` as this transport sends it."""
        ...

    def send(self, data: bytes) -> None:
        """Queue encoded bytes for the peer; never blocks."""
        ...

    @property
    def write_backlog(self) -> int:
        """Bytes queued for the peer and not yet taken."""
        ...

    @property
    def stalled(self) -> bool:
        """The peer stopped reading: the session ends the call rather than buffer without bound."""
        ...

    async def hang_up_and_close(self, send_hangup: bool = True) -> None:
        """End the transport; tell the peer it was hung up on when `send_hangup`."""
        ...
