"""Voice activity detection and endpointing: caller frames in, utterances out.

The VAD says whether one frame holds speech; the Endpointer turns that stream of decisions into
events: the caller started speaking (after a short run of speech, so a click is not a word), and
an utterance ended (after a configurable silence, or at the maximum length), with a pre-roll so
the first syllable, spoken before the VAD was sure, is kept. With `early_silence_ms` it also says
when the caller paused long enough that the utterance may be over (SpeechPaused): the audio so
far, cut exactly as the utterance will be if no more speech comes, so that it can be transcribed
while the endpoint still waits (calls/hearing.py).
"""

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass

import numpy as np

from .audio import FRAME_MS, resample

WEBRTC_RATES = (8000, 16000, 32000, 48000)


class VAD(ABC):
    """Frame (16-bit mono PCM, 10/20/30 ms) in, speech or not out. Cheap enough for the loop."""

    @abstractmethod
    def is_speech(self, frame: bytes, sample_rate: int) -> bool: ...


class WebRTCVAD(VAD):
    """Google's WebRTC VAD (webrtcvad-wheels): a GMM in C, microseconds per frame.

    An energy gate comes first: the WebRTC model keeps saying "speech" for a while after a loud
    click (its hang-over), even over digital silence; a frame quieter than `min_rms` is never
    speech.
    """

    def __init__(self, aggressiveness: int = 2, min_rms: float = 150.0) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)
        self.min_rms = min_rms

    def is_speech(self, frame: bytes, sample_rate: int) -> bool:
        # Runs on every inbound frame of every call, on the loop: one dot product, no square root.
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float32)
        if not samples.size or float(samples.dot(samples)) < self.min_rms**2 * samples.size:
            return False
        if sample_rate not in WEBRTC_RATES:
            frame, sample_rate = resample(frame, sample_rate, 16000), 16000
        return self._vad.is_speech(frame, sample_rate)


@dataclass(frozen=True)
class SpeechStarted:
    at_ms: int  # call time the utterance began (pre-roll included)


@dataclass(frozen=True)
class SpeechPaused:
    """The caller has been silent for `early_silence_ms`: the utterance so far, not yet ended."""

    utterance: "Utterance"


@dataclass(frozen=True)
class Utterance:
    pcm: bytes
    sample_rate: int
    started_ms: int  # call time the first frame began (pre-roll included)
    speech_ended_ms: int  # call time the last speech frame ended
    ended_ms: int  # call time the endpoint fired
    cut_at_max_length: bool = False

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) // 2 * 1000 // self.sample_rate


@dataclass(frozen=True)
class EndpointConfig:
    start_speech_ms: int = 120  # speech needed before we believe the caller is talking
    end_silence_ms: int = 600  # silence that ends an utterance
    preroll_ms: int = 300  # audio kept from before the start was detected
    max_utterance_ms: int = 15000
    # Silence after which a SpeechPaused event offers the utterance so far; 0: none. Below
    # TRAILING_SILENCE_FRAMES of silence the audio would differ from the ended utterance's.
    early_silence_ms: int = 0


# Silence frames an utterance keeps after its last speech (recognisers like a soft ending).
TRAILING_SILENCE_FRAMES = 10


class Endpointer:
    """Feed it every inbound frame with the call time it arrived (when its audio ended, since
    the caller sends a frame once it is complete); it returns events."""

    def __init__(self, vad: VAD, sample_rate: int, config: EndpointConfig | None = None) -> None:
        self.vad = vad
        self.sample_rate = sample_rate
        self.config = config or EndpointConfig()
        self._preroll: deque[bytes] = deque(maxlen=max(1, self.config.preroll_ms // FRAME_MS))
        self._frames: list[bytes] = []
        self._speech_run = 0
        self._silence_run = 0
        self._in_speech = False
        self._started_ms = 0
        self._last_speech_ms = 0
        self._last_at_ms = 0
        early = self.config.early_silence_ms
        # In frames, never fewer than the trailing silence kept, so the audio is the same.
        self._early_frames = max(-(-early // FRAME_MS), TRAILING_SILENCE_FRAMES) if early else 0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def feed(self, frame: bytes, at_ms: int) -> list[SpeechStarted | SpeechPaused | Utterance]:
        # Call time never runs backwards here, so no offset or duration it gives is negative.
        at_ms = self._last_at_ms = max(at_ms, self._last_at_ms)
        speech = self.vad.is_speech(frame, self.sample_rate)
        config = self.config
        if not self._in_speech:
            self._preroll.append(frame)
            self._speech_run = self._speech_run + 1 if speech else 0
            if self._speech_run * FRAME_MS < config.start_speech_ms:
                return []
            self._in_speech = True
            self._frames = list(self._preroll)
            self._preroll.clear()
            self._started_ms = max(0, at_ms - len(self._frames) * FRAME_MS)
            self._last_speech_ms = at_ms
            self._silence_run = 0
            return [SpeechStarted(self._started_ms)]
        self._frames.append(frame)
        if speech:
            self._silence_run = 0
            self._last_speech_ms = at_ms
        else:
            self._silence_run += 1
        too_long = len(self._frames) * FRAME_MS >= config.max_utterance_ms
        if self._silence_run * FRAME_MS >= config.end_silence_ms or too_long:
            return [self._finish(at_ms, cut=too_long and self._silence_run == 0)]
        if self._early_frames and self._silence_run == self._early_frames:
            return [SpeechPaused(self._utterance(at_ms, cut=False))]
        return []

    def flush(self, at_ms: int) -> Utterance | None:
        """The utterance in progress, cut where it stands (the call ended mid-sentence)."""
        if not self._in_speech:
            return None
        return self._finish(max(at_ms, self._last_at_ms), cut=True)

    def _utterance(self, at_ms: int, cut: bool) -> Utterance:
        # Keep a little of the trailing silence, not all of it.
        keep = max(0, len(self._frames) - max(0, self._silence_run - TRAILING_SILENCE_FRAMES))
        return Utterance(
            pcm=b"".join(self._frames[:keep]),
            sample_rate=self.sample_rate,
            started_ms=self._started_ms,
            speech_ended_ms=self._last_speech_ms,
            ended_ms=at_ms,
            cut_at_max_length=cut,
        )

    def _finish(self, at_ms: int, cut: bool) -> Utterance:
        utterance = self._utterance(at_ms, cut)
        self._in_speech = False
        self._frames = []
        self._speech_run = 0
        self._silence_run = 0
        return utterance
