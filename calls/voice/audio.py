"""Audio utilities: 16-bit linear PCM frames and resampling between engine and call rates."""

import io
import struct
import wave

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


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """PCM wrapped in a WAV container, as speech APIs take uploaded audio."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def pcm_from_wav(data: bytes) -> tuple[bytes, int]:
    """The 16-bit mono PCM and sample rate of a WAV file.

    Streaming servers write 0 or 0xFFFFFFFF as the data length, which the stdlib `wave` module
    cannot read, so the chunks are walked here and a data chunk runs to the end when its length
    is bogus.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    offset, rate = 12, None
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        body = offset + 8
        if chunk == b"fmt ":
            audio_format, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if audio_format not in (1, 0xFFFE) or channels != 1 or bits != 16:
                raise ValueError(
                    f"WAV is not 16-bit mono PCM (format {audio_format}, {channels} channels, "
                    f"{bits} bits)"
                )
        elif chunk == b"data":
            if rate is None:
                raise ValueError("WAV data comes before its format")
            end = len(data) if size in (0, 0xFFFFFFFF) else min(len(data), body + size)
            pcm = data[body:end]
            return pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH], rate
        offset = body + size + (size & 1)
    raise ValueError("WAV has no data chunk")
