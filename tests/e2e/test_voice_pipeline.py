"""The voice pipeline through the real server: a caller's synthesised speech, sent frame by frame
in real time, is endpointed, transcribed into a Turn row and answered; a caller who speaks over
the bot stops it at once; every stage's latency is stored and exported to Prometheus."""

import asyncio
import time
import urllib.request

import pytest

from calls.models import TurnRole
from calls.voice.audio import peak, split_frames
from tests.helpers.audiosocket_client import SILENCE_PEAK, AudioSocketClient
from tests.helpers.call_records import ended_call_turns
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_a_spoken_request_is_transcribed_answered_and_timed(metered_server, rate):
    client = await AudioSocketClient.connect(
        metered_server.host, metered_server.port, sample_rate=rate
    )
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)  # greeting
    await client.send_audio(caller_voice("I need winter tires", rate))
    sent_at = time.monotonic()
    # How soon the reply comes is measured in loadtests/ (turn latency p95 under 2 s); here the
    # time-out only has to outlast a busy machine.
    reply = await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
    await client.hangup()

    assert reply.duration_ms > 1000
    # The caller's speech ended when its last frame left; the reply follows it.
    assert reply.first_audio_at > sent_at

    greeting, caller, answer = await ended_call_turns(client.call_uuid, 3)
    assert greeting.role == TurnRole.BOT and "How can I help you" in greeting.text
    assert caller.role == TurnRole.CALLER
    assert "winter tires" in caller.text.lower(), caller.text
    assert caller.confidence is not None and caller.stt_ms is not None
    assert caller.start_ms < caller.end_ms
    assert answer.role == TurnRole.BOT and answer.text.startswith("I heard: ")
    assert 550 <= answer.endpoint_ms <= 700
    for stage in ("stt_ms", "agent_ms", "tts_ms", "total_ms"):
        assert getattr(answer, stage) is not None and getattr(answer, stage) >= 0, stage
    # Every stage is timed and the whole turn takes longer than its parts (their speed: the
    # benchmarks and load runs in loadtests/).
    assert answer.total_ms > answer.endpoint_ms
    # Stage times are taken at frame arrivals, so they add up to within a frame.
    assert answer.total_ms >= answer.endpoint_ms + answer.stt_ms - 20


async def test_the_stage_histograms_are_exported_after_a_call(metered_server):
    client = await AudioSocketClient.connect(metered_server.host, metered_server.port)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
    await client.send_audio(caller_voice("Yes, please"))
    await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
    await client.hangup()
    await ended_call_turns(client.call_uuid, 3)
    url = f"http://127.0.0.1:{metered_server.metrics_port}/"
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
    for stage in ("endpoint", "stt", "agent", "tts_first_audio", "total"):
        assert f"callcenter_turn_{stage}_seconds_count 1.0" in text, stage
    assert 'callcenter_calls_ended_total{outcome="abandoned"} 1.0' in text


async def test_a_caller_speaking_over_the_bot_stops_it_within_a_few_frames(metered_server):
    client = await AudioSocketClient.connect(metered_server.host, metered_server.port)
    client.start_background_silence()
    # Wait until the greeting is audible, let it play a second, then talk over it.
    while peak((await client.read_packet(timeout=30)).payload) < SILENCE_PEAK:
        pass
    await _drain_for(client, 1.0)
    speech = caller_voice("No, thank you")
    speaking = asyncio.create_task(client.send_audio(speech))
    # The bot's frames from the caller's first word until the endpoint could first end the
    # utterance (its length and a little more: 600 ms of silence are needed), counted in frames,
    # that is in audio, not on the wall clock that a busy machine stretches; nor by the first
    # quiet frame, which may be a pause between the greeting's sentences.
    over_the_caller = 0
    for _ in range(len(split_frames(speech, 8000)) + 25):
        packet = await client.read_packet(timeout=10)
        over_the_caller += packet.is_audio and peak(packet.payload) >= SILENCE_PEAK
    await speaking
    await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)  # the reply
    await client.hangup()

    # The VAD needs 120 ms of speech to be sure; then playback stops at the next frame: the
    # bot talks over the caller for a few frames, not for the rest of its greeting (which
    # would fill most of that window).
    assert over_the_caller <= 25, f"the bot spoke {over_the_caller} frames over the caller"
    greeting, caller, answer = await ended_call_turns(client.call_uuid, 3)
    assert greeting.interrupted is True
    assert greeting.text.endswith("…") and len(greeting.text) < len("Hello! You have reached")
    assert greeting.end_ms - greeting.start_ms < 2500
    assert "no" in caller.text.lower() and answer.text.startswith("I heard:")


async def _drain_for(client: AudioSocketClient, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            await client.read_packet(timeout=left)
        except TimeoutError:
            return
