"""Early transcription through the real server: a caller who pauses long enough that they may be
done has their words transcribed while the endpoint still waits. When they say no more, that
early transcript is the turn's; when they go on, it is dropped and the whole utterance is
transcribed (the turn holds all of it). Counted on /metrics."""

import asyncio
import re
import urllib.request

import pytest

from calls.models import TurnRole
from calls.voice.audio import frame_size
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns, transcript
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def _early_counts(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    found = re.findall(r'callcenter_stt_early_transcriptions_total\{result="(\w+)"\} (\S+)', text)
    return {result: float(count) for result, count in found}


async def _caller_turn(server, speech: bytes):
    client = await AudioSocketClient.connect(server.host, server.port)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)  # greeting
    await client.send_audio(speech)
    await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
    await client.hangup()
    turns = await ended_call_turns(client.call_uuid, 3)
    callers = [t for t in turns if t.role == TurnRole.CALLER]
    assert len(callers) == 1, transcript(turns)
    counts = await asyncio.to_thread(_early_counts, server.metrics_port)
    return callers[0], turns, counts


async def test_a_caller_who_says_no_more_gets_the_early_transcript(metered_server):
    heard, turns, counts = await _caller_turn(metered_server, caller_voice("I need winter tires"))
    assert "winter tires" in heard.text.lower(), transcript(turns)
    assert counts == {"used": 1.0, "dropped": 0.0, "skipped": 0.0}
    # The endpoint itself still waits for the whole end silence.
    assert 550 <= turns[-1].endpoint_ms <= 700


async def test_a_caller_who_goes_on_after_a_pause_is_heard_whole(metered_server):
    pause = bytes(frame_size(8000, 400))  # past the early silence, short of the endpoint
    speech = caller_voice("I need winter tires") + pause + caller_voice("for my old car")
    heard, turns, counts = await _caller_turn(metered_server, speech)
    text = heard.text.lower()
    assert "winter tires" in text and "old car" in text, transcript(turns)
    # The transcript of the first half was dropped, never the turn's.
    assert counts["dropped"] == 1.0, counts
