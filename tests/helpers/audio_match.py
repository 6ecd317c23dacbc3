"""Is audio a server sent found, unchanged, in a recording of what the caller heard?

On a lossless path (16-bit linear PCM at the server's rate end to end, as the AudioSocket
application's slin 8 kHz is) every frame the server sent reaches the recording as it was, in
order. What the path may do without changing the audio is add time: a frame that comes late
leaves a gap, and the recorder fills the gap with silence (a real recording under load: a
frame of silence between two frames of the greeting's last sentence). So each 20 ms frame of
speech the server sent, cut as its player cuts it, is looked for whole, byte for byte, after the
one before it, with anything allowed between frames. A resampled, re-levelled, clipped,
garbled, shifted or cut greeting leaves frames unfound.
"""

from dataclasses import dataclass

import numpy as np

from calls.voice.audio import split_frames

LOUD = 500  # a frame with a sample louder than this holds speech (silence would match anywhere)


@dataclass(frozen=True)
class Match:
    frames: int  # frames of speech in the sent audio
    found: int  # of them, found whole and unchanged, in order, in the recording
    breaks: int  # places where the recording had something between two consecutive frames
    end: int  # the recording's sample after the last frame found (where the next may begin)

    @property
    def missing(self) -> int:
        return self.frames - self.found

    def __str__(self) -> str:
        return (
            f"{self.found} of {self.frames} frames of speech found unchanged "
            f"({self.breaks} gaps between them)"
        )


def speech_frames(pcm: bytes, sample_rate: int) -> list[tuple[int, bytes]]:
    """(index, frame) of each 20 ms frame, cut from the start as the player cuts it, that holds
    speech."""
    return [
        (n, frame)
        for n, frame in enumerate(split_frames(pcm, sample_rate))
        if np.abs(np.frombuffer(frame, dtype="<i2").astype(np.int32)).max() > LOUD
    ]


def find_frames(sent: bytes, heard: bytes, sample_rate: int, start: int = 0) -> Match:
    """How many of `sent`'s frames of speech `heard` holds whole, unchanged and in order, from
    its sample `start` on."""
    wanted = speech_frames(sent, sample_rate)
    at, found, breaks, previous = start * 2, 0, 0, None  # at: a byte offset into `heard`
    for n, frame in wanted:
        position = _find_sample_aligned(heard, frame, at)
        if position < 0:
            continue
        if previous is not None and (n != previous[0] + 1 or position != previous[1]):
            breaks += 1
        found, at = found + 1, position + len(frame)
        previous = (n, at)
    return Match(len(wanted), found, breaks, at // 2)


def _find_sample_aligned(raw: bytes, piece: bytes, offset: int) -> int:
    """The first even byte offset at or after `offset` where `piece` starts in `raw`."""
    while (offset := raw.find(piece, offset)) >= 0:
        if offset % 2 == 0:
            return offset
        offset += 1
    return -1


def find_in_order(pieces: list[bytes], heard: bytes, sample_rate: int) -> list[Match]:
    """`find_frames` for consecutive utterances (a greeting's sentences): each is looked for
    after where the one before it was found."""
    matches, start = [], 0
    for piece in pieces:
        match = find_frames(piece, heard, sample_rate, start)
        matches.append(match)
        start = match.end
    return matches
