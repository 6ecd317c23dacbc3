"""The AudioSocket wire codec: bytes in, packets out, and packets to bytes. Pure: no I/O, no Django.

A packet is a 3-byte header (kind: 1 byte; payload length: 2 bytes big-endian) and the payload.
Every rule of the wire format lives here; malformed input raises ProtocolError and nothing else.
"""

import enum
import struct
import uuid
from dataclasses import dataclass

HEADER = struct.Struct(">BH")
HEADER_SIZE = HEADER.size
MAX_WIRE_PAYLOAD = 0xFFFF
DEFAULT_MAX_PAYLOAD = 16 * 1024
DTMF_DIGITS = frozenset(b"0123456789*#ABCD")


class Kind(enum.IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO_8K = 0x10
    AUDIO_12K = 0x11
    AUDIO_16K = 0x12
    AUDIO_24K = 0x13
    AUDIO_32K = 0x14
    AUDIO_44K = 0x15
    AUDIO_48K = 0x16
    AUDIO_96K = 0x17
    AUDIO_192K = 0x18
    ERROR = 0xFF


RATE_BY_AUDIO_KIND: dict[Kind, int] = {
    Kind.AUDIO_8K: 8000,
    Kind.AUDIO_12K: 12000,
    Kind.AUDIO_16K: 16000,
    Kind.AUDIO_24K: 24000,
    Kind.AUDIO_32K: 32000,
    Kind.AUDIO_44K: 44100,
    Kind.AUDIO_48K: 48000,
    Kind.AUDIO_96K: 96000,
    Kind.AUDIO_192K: 192000,
}
AUDIO_KIND_BY_RATE: dict[int, Kind] = {rate: kind for kind, rate in RATE_BY_AUDIO_KIND.items()}
# A dict lookup, not Kind(value): the enum's constructor costs microseconds per packet, and a
# peer can send tens of thousands of tiny packets in one read.
_KIND_BY_VALUE: dict[int, Kind] = {int(kind): kind for kind in Kind}


class ErrorCode(enum.IntEnum):
    """Codes Asterisk puts in an error packet's payload."""

    CALLER_HUNG_UP = 0x01
    FRAME_FORWARDING = 0x02
    MEMORY = 0x04


class ProtocolError(ValueError):
    """The bytes are not valid AudioSocket; the message says what was wrong.

    `packets` holds the valid packets the same feed decoded before the fault (a call's UUID
    and a broken frame can arrive in one read), so that nothing said before it is lost.
    """

    def __init__(self, message: str, packets: list["Packet"] | None = None) -> None:
        super().__init__(message)
        self.packets: list[Packet] = packets or []


@dataclass(frozen=True, slots=True)
class Packet:
    kind: Kind
    payload: bytes = b""

    @property
    def is_audio(self) -> bool:
        return self.kind in RATE_BY_AUDIO_KIND

    @property
    def sample_rate(self) -> int | None:
        return RATE_BY_AUDIO_KIND.get(self.kind)

    @property
    def uuid(self) -> uuid.UUID:
        if self.kind != Kind.UUID:
            raise ProtocolError(f"a {self.kind.name} packet carries no UUID")
        return uuid.UUID(bytes=self.payload)

    @property
    def digit(self) -> str:
        if self.kind != Kind.DTMF:
            raise ProtocolError(f"a {self.kind.name} packet carries no DTMF digit")
        return self.payload.decode("ascii")

    @property
    def error_code(self) -> ErrorCode | int | None:
        if self.kind != Kind.ERROR or not self.payload:
            return None
        code = self.payload[0]
        try:
            return ErrorCode(code)
        except ValueError:
            return code


def _check(kind: int, payload: bytes | memoryview) -> Kind:
    """Validate one packet's kind and payload; return the kind as a Kind."""
    known = _KIND_BY_VALUE.get(kind)
    if known is None:
        raise ProtocolError(f"unknown packet kind 0x{kind:02x}")
    kind = known
    size = len(payload)
    if kind in RATE_BY_AUDIO_KIND:
        if size == 0:
            raise ProtocolError("empty audio payload")
        if size % 2:
            raise ProtocolError(f"audio payload has an odd length ({size} bytes)")
    elif kind == Kind.UUID:
        if size != 16:
            raise ProtocolError(f"UUID payload must be 16 bytes, got {size}")
    elif kind == Kind.DTMF:
        if size != 1 or payload[0] not in DTMF_DIGITS:
            raise ProtocolError(f"DTMF payload must be one of 0-9*#A-D, got {bytes(payload)!r}")
    elif kind == Kind.HANGUP:
        if size:
            raise ProtocolError(f"hang-up packet must be empty, got {size} bytes")
    elif kind == Kind.ERROR and size > 1:
        raise ProtocolError(f"error packet payload must be at most 1 byte, got {size}")
    return kind


class Decoder:
    """Incremental decoder: feed it bytes as they arrive, get whole packets back.

    A header split across reads, a payload spread over many reads and several packets in one
    read are all fine. A declared length over `max_payload` is refused as soon as the header
    arrives, so a bogus length never makes us buffer 64 KiB. After a ProtocolError the stream
    has lost its framing: the decoder stays broken and every later feed raises too.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        if not 0 < max_payload <= MAX_WIRE_PAYLOAD:
            raise ValueError(f"max_payload must be 1..{MAX_WIRE_PAYLOAD}")
        self.max_payload = max_payload
        self._buffer = bytearray()
        self._error: ProtocolError | None = None

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole packet yet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Packet]:
        if self._error is not None:
            raise ProtocolError(f"stream already broken: {self._error}")
        buffer = self._buffer
        buffer += data
        packets: list[Packet] = []
        offset = 0
        end = len(buffer)
        try:
            while end - offset >= HEADER_SIZE:
                kind, size = HEADER.unpack_from(buffer, offset)
                if kind not in _KIND_BY_VALUE:
                    raise ProtocolError(f"unknown packet kind 0x{kind:02x}")
                if size > self.max_payload:
                    raise ProtocolError(
                        f"packet payload of {size} bytes exceeds the limit of {self.max_payload}"
                    )
                if end - offset - HEADER_SIZE < size:
                    break
                start = offset + HEADER_SIZE
                payload = bytes(buffer[start : start + size])
                packets.append(Packet(_check(kind, payload), payload))
                offset = start + size
        except ProtocolError as error:
            self._error = error
            buffer.clear()
            error.packets = packets
            raise
        # One deletion per feed, not per packet: no quadratic copying on a busy stream.
        del buffer[:offset]
        return packets


def encode(kind: Kind | int, payload: bytes = b"") -> bytes:
    """One packet, header and payload in a single bytes object (one write on the socket)."""
    if len(payload) > MAX_WIRE_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes does not fit a packet")
    kind = _check(kind, payload)
    return HEADER.pack(kind, len(payload)) + payload


def encode_audio(pcm: bytes, sample_rate: int = 8000) -> bytes:
    kind = AUDIO_KIND_BY_RATE.get(sample_rate)
    if kind is None:
        raise ProtocolError(f"AudioSocket has no audio kind for {sample_rate} Hz")
    return encode(kind, pcm)


def encode_hangup() -> bytes:
    return encode(Kind.HANGUP)


def encode_uuid(call_uuid: uuid.UUID) -> bytes:
    return encode(Kind.UUID, call_uuid.bytes)


def encode_dtmf(digit: str) -> bytes:
    return encode(Kind.DTMF, digit.encode("ascii", errors="replace"))


def encode_error(code: ErrorCode | int | None = None) -> bytes:
    return encode(Kind.ERROR, b"" if code is None else bytes([int(code)]))


def frame_bytes(sample_rate: int, ms: int = 20) -> int:
    """Bytes of one `ms` frame of 16-bit mono audio: 320 at 8 kHz, 640 at 16 kHz."""
    return sample_rate * ms // 1000 * 2
