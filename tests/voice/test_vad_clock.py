"""The endpointer's call times never run backwards nor below zero, whatever times the frames
come with (bunched audio used to give a turn negative offsets, which the database refused)."""

from calls.voice.audio import frame_size, split_frames
from calls.voice.vad import Endpointer, SpeechStarted, Utterance, WebRTCVAD
from tests.helpers.voices import caller_voice

RATE = 8000


def test_frames_stamped_back_in_time_give_no_negative_offset_or_endpoint():
    endpointer = Endpointer(WebRTCVAD(), RATE)
    speech = caller_voice("I need winter tires", RATE)
    frames = split_frames(speech + bytes(frame_size(RATE, 1000)), RATE)
    # One frame at 20 ms, then the rest stamped as if they ended now (80 ms) one after another:
    # the times the old arithmetic gave bunched audio, which start far below zero.
    times = [20] + [80 - (len(frames) - 2 - i) * 20 for i in range(len(frames) - 1)]
    events = []
    for frame, at in zip(frames, times, strict=True):
        events.extend(endpointer.feed(frame, at))
    utterances = [e for e in events if isinstance(e, Utterance)]
    assert utterances and any(isinstance(e, SpeechStarted) for e in events)
    for u in utterances:
        assert 0 <= u.started_ms <= u.speech_ended_ms <= u.ended_ms
    assert all(e.at_ms >= 0 for e in events if isinstance(e, SpeechStarted))
