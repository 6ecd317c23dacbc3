"""Audio utilities: 16-bit linear PCM frames and resampling between engine and call rates."""

import numpy as np
import soxr

SAMPLE_WIDTH = 2  # bytes: every buffer here is signed 16-bit little-endian mono PCM
FRAME_MS = 20


def frame_size(sample_rate: int, ms: int = FRAME_MS) -> int:
    """Bytes in one frame of `ms` milliseconds at `sample_rate`."""
    return sample_rate * ms // 1000 * SAMPLE_WIDTH


def silence(sample_rate: int, ms: int = FRAME_MS) -> bytes:
    return bytes(frame_size(sample_rate, ms))


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample PCM with a band-limited resampler (libsoxr), never by dropping samples."""
    if from_rate == to_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2")
    return soxr.resample(samples, from_rate, to_rate, quality="HQ").astype("<i2").tobytes()


def split_frames(pcm: bytes, sample_rate: int, ms: int = FRAME_MS) -> list[bytes]:
    """Cut PCM into whole frames, padding the last one with silence."""
    size = frame_size(sample_rate, ms)
    frames = [pcm[i : i + size] for i in range(0, len(pcm), size)]
    if frames and len(frames[-1]) < size:
        frames[-1] = frames[-1] + bytes(size - len(frames[-1]))
    return frames


def peak(pcm: bytes) -> int:
    """The largest absolute sample value: 0 for digital silence."""
    if not pcm:
        return 0
    return int(np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32)).max())


def duration_ms(pcm: bytes, sample_rate: int) -> int:
    return len(pcm) // SAMPLE_WIDTH * 1000 // sample_rate
