"""Endpointing on real speech: one utterance per sentence, first syllable kept, end after the
configured silence, clicks ignored, long talk cut at the maximum length."""

import numpy as np
import pytest

from calls.voice.audio import frame_size, peak, split_frames
from calls.voice.tts import get_tts_engine
from calls.voice.vad import EndpointConfig, Endpointer, SpeechStarted, Utterance, WebRTCVAD


def _speech(text: str, rate: int) -> bytes:
    return get_tts_engine().synthesize(text, "en", rate)


def _feed(endpointer: Endpointer, pcm: bytes, rate: int) -> list:
    events = []
    for index, frame in enumerate(split_frames(pcm, rate)):
        events.extend(endpointer.feed(frame, (index + 1) * 20))  # a frame arrives once spoken
    return events


@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_sentence_between_silences_is_one_utterance_with_its_first_syllable(rate):
    speech = _speech("I need four winter tires for my car.", rate)
    silence = bytes(frame_size(rate, 1000))
    events = _feed(Endpointer(WebRTCVAD(), rate), silence + speech + silence, rate)
    started = [e for e in events if isinstance(e, SpeechStarted)]
    utterances = [e for e in events if isinstance(e, Utterance)]
    assert len(started) == 1 and len(utterances) == 1
    utterance = utterances[0]
    # The caller began at 1000 ms; the pre-roll reaches back before the VAD was sure.
    assert 700 <= utterance.started_ms <= 1000
    assert peak(utterance.pcm[: frame_size(rate, 1000 - utterance.started_ms + 40)]) > 0
    speech_ms = len(speech) // 2 * 1000 // rate
    assert abs(utterance.speech_ended_ms - (1000 + speech_ms)) <= 200
    assert abs((utterance.ended_ms - utterance.speech_ended_ms) - 600) <= 40
    assert utterance.duration_ms >= speech_ms


def test_the_end_of_utterance_silence_is_configurable():
    rate = 8000
    speech = _speech("Yes, that's right.", rate)
    pcm = bytes(frame_size(rate, 500)) + speech + bytes(frame_size(rate, 1500))
    [utterance] = [
        e
        for e in _feed(
            Endpointer(WebRTCVAD(), rate, EndpointConfig(end_silence_ms=1000)), pcm, rate
        )
        if isinstance(e, Utterance)
    ]
    assert abs((utterance.ended_ms - utterance.speech_ended_ms) - 1000) <= 40


def test_a_click_is_not_speech():
    rate = 8000
    rng = np.random.default_rng(1)
    click = (rng.normal(0, 8000, rate * 40 // 1000)).astype("<i2").tobytes()
    pcm = bytes(frame_size(rate, 500)) + click + bytes(frame_size(rate, 1000))
    assert _feed(Endpointer(WebRTCVAD(), rate), pcm, rate) == []


def test_talk_longer_than_the_maximum_is_cut_into_utterances():
    rate = 8000
    speech = _speech("Michelin Continental Nokian Goodyear Bridgestone Pirelli " * 3, rate)
    config = EndpointConfig(max_utterance_ms=2000, end_silence_ms=800)
    utterances = [
        e
        for e in _feed(Endpointer(WebRTCVAD(), rate, config), speech, rate)
        if isinstance(e, Utterance)
    ]
    assert len(utterances) >= 2
    assert all(u.duration_ms <= 2000 for u in utterances)
    assert any(u.cut_at_max_length for u in utterances)
