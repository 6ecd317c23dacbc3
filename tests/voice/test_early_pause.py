"""The endpointer's pause event and the STT queue's estimates, on their own: the audio offered
at a pause is the utterance exactly as it ends when the caller says no more, and differs when they
go on; the queue counts its jobs and learns how long one takes."""

import threading

from calls.voice.audio import frame_size, split_frames
from calls.voice.stt_queue import STTQueue
from calls.voice.tts import get_tts_engine
from calls.voice.vad import EndpointConfig, Endpointer, SpeechPaused, Utterance, WebRTCVAD

RATE = 8000
EARLY = EndpointConfig(end_silence_ms=600, early_silence_ms=250)


def _events(pcm: bytes, config: EndpointConfig = EARLY) -> list:
    endpointer = Endpointer(WebRTCVAD(), RATE, config)
    events = []
    for index, frame in enumerate(split_frames(pcm, RATE)):
        events.extend(endpointer.feed(frame, (index + 1) * 20))
    return events


def _speech(text: str) -> bytes:
    return get_tts_engine().synthesize(text, "en", RATE)


def _silence(ms: int) -> bytes:
    return bytes(frame_size(RATE, ms))


def test_a_pause_offers_the_very_audio_of_the_utterance_that_then_ends():
    events = _events(_silence(500) + _speech("I need winter tires.") + _silence(1000))
    [paused] = [e for e in events if isinstance(e, SpeechPaused)]
    [utterance] = [e for e in events if isinstance(e, Utterance)]
    assert paused.utterance.pcm == utterance.pcm
    assert paused.utterance.started_ms == utterance.started_ms
    # Offered while the endpoint still waited for the rest of its silence.
    assert paused.utterance.ended_ms < utterance.ended_ms


def test_a_caller_who_goes_on_after_the_pause_ends_a_longer_utterance():
    pcm = (
        _silence(500)
        + _speech("I need winter tires.")
        + _silence(400)  # past the early silence, short of the endpoint
        + _speech("For my car.")
        + _silence(1000)
    )
    events = _events(pcm)
    paused = [e.utterance for e in events if isinstance(e, SpeechPaused)]
    [utterance] = [e for e in events if isinstance(e, Utterance)]
    assert len(paused) >= 2  # at the mid-sentence pause and at the end
    assert paused[0].pcm != utterance.pcm and utterance.pcm.startswith(paused[0].pcm)
    assert paused[-1].pcm == utterance.pcm


def test_no_pause_event_without_the_setting():
    events = _events(_silence(500) + _speech("Yes.") + _silence(1000), EndpointConfig())
    assert not any(isinstance(e, SpeechPaused) for e in events)
    assert sum(isinstance(e, Utterance) for e in events) == 1


def test_the_queue_counts_its_jobs_and_estimates_the_wait_from_measured_jobs():
    release = threading.Event()
    with STTQueue(2, first_guess=0.5) as queue:
        assert queue.jobs == 0 and not queue.busy and queue.wait_estimate() == 0.0
        held = [queue.submit(release.wait, 30) for _ in range(5)]
        assert queue.jobs == 5 and queue.busy
        # 3 wait, and a new one waits for one more to leave: 4 jobs of 0.5 s on 2 workers.
        assert queue.wait_estimate() == 0.5 * 4 / 2
        assert queue.done_estimate() == queue.wait_estimate() + 0.5
        release.set()
        for future in held:
            future.result(timeout=30)
    assert queue.jobs == 0
    # The measured jobs replaced the guess: each took far less than half a second.
    assert queue.job_seconds < 0.5


def test_a_cancelled_waiting_job_leaves_the_queue():
    release = threading.Event()
    with STTQueue(1) as queue:
        running = queue.submit(release.wait, 30)
        waiting = queue.submit(release.wait, 30)
        assert queue.jobs == 2
        assert waiting.cancel()
        assert queue.jobs == 1
        release.set()
        running.result(timeout=30)
    assert queue.jobs == 0
