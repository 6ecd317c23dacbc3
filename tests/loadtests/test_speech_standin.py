"""The load runs' speech API stand-in (loadtests/speech_standin.py): its latency and failure
knobs, and the product's own Google and OpenAI engines talking to it."""

import asyncio
import random
import statistics
import threading
import time

import numpy as np
import pytest

from calls.voice.audio import duration_ms, peak, silence
from calls.voice.google_cloud import GoogleSTTEngine, GoogleTTSEngine
from calls.voice.openai_api import OpenAISTTEngine, OpenAITTSEngine
from calls.voice.stt import STTError
from loadtests.speech_standin import Faults, Latency, StandIn, Transcripts, speech_seconds


def test_latency_has_the_median_and_95th_percentile_it_is_given_and_a_long_tail():
    latency = Latency(median_ms=300, p95_ms=800)
    rng = random.Random(7)
    waits = sorted(latency.sample(rng) * 1000 for _ in range(40_000))
    assert statistics.median(waits) == pytest.approx(300, rel=0.03)
    assert waits[int(len(waits) * 0.95)] == pytest.approx(800, rel=0.05)
    # Log-normal: the 99th percentile is well past the 95th, as a cloud API's is.
    assert waits[int(len(waits) * 0.99)] == pytest.approx(latency.percentile_ms(0.99), rel=0.08)
    assert latency.percentile_ms(0.99) > 1100
    assert max(waits) <= latency.max_ms


def test_a_latency_without_spread_is_fixed_and_zero_means_no_wait():
    rng = random.Random(1)
    assert {Latency(250, 250).sample(rng) for _ in range(100)} == {0.25}
    assert Latency(0, 0).sample(rng) == 0


def test_faults_fail_the_shares_of_requests_they_are_given():
    faults = Faults(error_rate=0.015, timeout_rate=0.005)
    rng = random.Random(3)
    drawn = [faults.draw(rng) for _ in range(200_000)]
    assert drawn.count("error") / len(drawn) == pytest.approx(0.015, rel=0.1)
    assert drawn.count("timeout") / len(drawn) == pytest.approx(0.005, rel=0.15)
    assert {faults.draw(rng) for _ in range(1000)} <= {"", "error", "timeout"}
    with pytest.raises(ValueError):
        Faults(error_rate=0.8, timeout_rate=0.3)


def _noise(seconds: float, rate: int, seed: int) -> bytes:
    samples = np.random.default_rng(seed).integers(-6000, 6000, int(seconds * rate))
    return samples.astype("<i2").tobytes()


class RunningStandIn:
    """The stand-in on its own event loop in a thread, as the load script runs it alone."""

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)
            self.port = self.loop.run_until_complete(standin.start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        assert started.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.standin.close(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


UTTERANCES = {"I need winter tires": 1, "My name is Maria": 2}


@pytest.fixture
def transcripts():
    known = Transcripts()
    for text, seed in UTTERANCES.items():
        for rate in (8000, 16000):
            known.add(_noise(1.5, rate, seed), rate, text)
    return known


@pytest.fixture
def running(transcripts):
    stands = []

    def start(**knobs) -> RunningStandIn:
        knobs.setdefault("stt_latency", Latency(0, 0))
        knobs.setdefault("tts_first_byte", Latency(0, 0))
        stands.append(RunningStandIn(StandIn(transcripts, **knobs)))
        return stands[-1]

    yield start
    for stand in stands:
        stand.stop()


def _as_the_server_cuts_it(pcm: bytes, rate: int) -> bytes:
    """An utterance as the endpointer hands it to STT: whole frames, silence either side."""
    return silence(rate, 300) + pcm + bytes(-len(pcm) % (rate // 50 * 2)) + silence(rate, 600)


@pytest.mark.parametrize("engine_class,rate", [(GoogleSTTEngine, 8000), (OpenAISTTEngine, 16000)])
def test_the_engines_hear_the_known_utterances_through_the_stand_in(running, engine_class, rate):
    stand = running()
    api = "google" if engine_class is GoogleSTTEngine else "openai"
    engine = engine_class(base_url=f"{stand.url}/{api}/v1", api_key="load")
    for text, seed in UTTERANCES.items():
        pcm = _as_the_server_cuts_it(_noise(1.5, rate, seed), rate)
        assert engine.transcribe(pcm, rate, "en").text == text
    # Audio the load test never recorded is heard as nothing, and counted.
    assert engine.transcribe(_noise(1.0, rate, 99), rate, "en").text == ""
    assert stand.standin.stats["not_recognised"] == 1
    assert stand.standin.stats["recognised"] == 2


@pytest.mark.parametrize("engine_class", [GoogleTTSEngine, OpenAITTSEngine])
def test_synthesis_is_as_long_as_the_text_would_take_to_say_and_waits_its_first_byte(
    running, engine_class
):
    stand = running(tts_first_byte=Latency(300, 300))
    api = "google" if engine_class is GoogleTTSEngine else "openai"
    engine = engine_class(base_url=f"{stand.url}/{api}/v1", api_key="load")
    text = "What tire size do you need? For example, two hundred five, fifty five, R sixteen."
    started = time.monotonic()
    pcm = engine.synthesize(text, "en", 8000)
    assert time.monotonic() - started >= 0.3
    assert duration_ms(pcm, 8000) == pytest.approx(speech_seconds(text) * 1000, abs=40)
    assert peak(pcm) > 4000  # the caller hears it


def test_injected_errors_are_http_errors_the_engine_retries_once_then_reports(running):
    stand = running(faults=Faults(error_rate=1.0))
    engine = GoogleSTTEngine(base_url=f"{stand.url}/google/v1", api_key="load")
    with pytest.raises(STTError, match=r"HTTP (503|500|429)"):
        engine.transcribe(_noise(1.0, 8000, 1), 8000, "en")
    assert stand.standin.stats["stt_errors"] == 2  # the request and its one retry


def test_injected_time_outs_and_a_stall_never_answer_within_the_client_time_out(running, settings):
    settings.SPEECH_API_TIMEOUT = 0.5
    timing_out = running(faults=Faults(timeout_rate=1.0), hold=5)
    engine = OpenAISTTEngine(base_url=f"{timing_out.url}/openai/v1", api_key="load")
    with pytest.raises(STTError, match="no answer in time"):
        engine.transcribe(_noise(1.0, 8000, 1), 8000, "en")
    assert timing_out.standin.stats["stt_timeouts"] == 1

    stalled = running(stall_after=0.0, hold=5)
    engine = GoogleTTSEngine(base_url=f"{stalled.url}/google/v1", api_key="load")
    with pytest.raises(Exception, match="no answer in time"):
        engine.synthesize("Hello", "en", 8000)
    assert stalled.standin.stats["tts_timeouts"] == 1
