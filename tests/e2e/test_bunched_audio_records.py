"""Audio that arrives bunched (one frame, then 1.5 s of frames at once, as a jittery network
delivers it) must not stop the call records: the turn is stored with offsets from the start of
the call that are never negative, and every later call is recorded too.

Before the fix the turn's offsets came out negative; PostgreSQL's CHECK on the turn rejected
the whole batch, which the recorder retried forever: no Call or Turn row of that process was
written again until it restarted. Run on PostgreSQL to see it (SQLite dropped the turn quietly).
"""

import asyncio

import pytest

from calls.models import CallStatus, TurnRole
from calls.voice.audio import silence
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call, ended_call_turns, transcript
from tests.helpers.server_process import start_server
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.slow]

RATE = 8000


async def _bunched_call(server) -> AudioSocketClient:
    client = await AudioSocketClient.connect(server.host, server.port, sample_rate=RATE)
    voice = caller_voice("I need winter tires", RATE)
    await client.send_audio(silence(RATE), realtime=False)  # one 20 ms frame starts the call
    await asyncio.sleep(0.06)
    # ...and 60 ms later 1.5 s of speech in one go.
    await client.send_audio(voice[: RATE * 2 * 3 // 2], realtime=False)
    client.start_background_silence()
    return client


async def test_bunched_audio_is_recorded_and_later_calls_are_too():
    server = start_server(env={"AGENT": "repeat", "NO_INPUT_TIMEOUT": "60"})
    try:
        first = await _bunched_call(server)
        # The bot answers what it heard; then the caller hangs up.
        await first.read_audio_response(silence_gap_ms=1500, first_frame_timeout=60)
        await asyncio.sleep(3)
        await first.hangup()
        first_turns = await ended_call_turns(first.call_uuid, 2, timeout=60)

        second = await AudioSocketClient.connect(server.host, server.port, sample_rate=RATE)
        second.start_background_silence()
        await second.read_audio_response(silence_gap_ms=1000, first_frame_timeout=30)
        await second.hangup()
        second_call = await ended_call(second.call_uuid, timeout=30)
    finally:
        server.stop()
        print(server.log[-3000:])  # what the server said, when the test fails

    said = transcript(first_turns)
    caller = [t for t in first_turns if t.role == TurnRole.CALLER]
    assert caller, said
    for turn in first_turns:
        assert 0 <= turn.start_ms <= turn.end_ms, said
        assert turn.endpoint_ms is None or turn.endpoint_ms >= 0, said
    assert second_call.status == CallStatus.ENDED
    assert "quarantined" not in server.log
