"""The telephone path: what a caller's phone line does to audio (8 kHz, G.711 mu-law), so that a
test call in "phone quality" sounds to the owner, and to the recognizer, as a real call does.

G.711 mu-law as ITU-T G.711 and Asterisk code it (the `audioop` module's `lin2ulaw`/`ulaw2lin`,
gone in Python 3.13): a 16-bit sample's top 14 bits, biased, in 8 segments of 16 steps. The round
trip of every 16-bit value is one 64K table, so a frame goes through it with one numpy lookup.
"""

import functools

import numpy as np

from .audio import resample

PHONE_RATE = 8000
_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_BIAS = 0x84
_CLIP = 8159


def _encode(sample: int) -> int:
    """One 16-bit sample to its mu-law byte."""
    value = sample >> 2
    if value < 0:
        value, mask = -value, 0x7F
    else:
        mask = 0xFF
    value = min(value, _CLIP) + (_BIAS >> 2)
    for segment, end in enumerate(_SEGMENT_ENDS):
        if value <= end:
            return ((segment << 4) | ((value >> (segment + 1)) & 0xF)) ^ mask
    return 0x7F ^ mask


def _decode(byte: int) -> int:
    """One mu-law byte to its 16-bit sample."""
    byte = ~byte & 0xFF
    magnitude = (((byte & 0x0F) << 3) + _BIAS) << ((byte & 0x70) >> 4)
    return _BIAS - magnitude if byte & 0x80 else magnitude - _BIAS


@functools.cache
def _round_trip_table() -> np.ndarray:
    """Every 16-bit sample (indexed as unsigned) after mu-law encoding and decoding."""
    decoded = np.array([_decode(byte) for byte in range(256)], dtype="<i2")
    encoded = np.array([_encode(s) for s in range(-32768, 32768)], dtype=np.uint8)
    table = np.empty(65536, dtype="<i2")
    table[np.arange(-32768, 32768).astype(np.uint16)] = decoded[encoded]
    return table


def mulaw_round_trip(pcm: bytes) -> bytes:
    """16-bit PCM through G.711 mu-law and back, as a call through Asterisk hears it."""
    if not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").view(np.uint16)
    return _round_trip_table()[samples].tobytes()


def phone_line(pcm: bytes, sample_rate: int) -> bytes:
    """PCM at `sample_rate` as a phone line carries it: 8 kHz mu-law (returned at 8 kHz)."""
    return mulaw_round_trip(resample(pcm, sample_rate, PHONE_RATE))
