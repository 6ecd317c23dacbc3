"""Admission control through the real AudioSocket server (in this process, on a free port): with
the speech-to-text queue saturated, a caller whose reply would be late hears "one moment" instead
of silence, and a new call is put through to the operators (the dialplan's route says so); the
queue and the decisions are on /metrics.

The queue is saturated by holding its workers with jobs that wait for the test to let them go:
the transcriptions of other callers, as far as this call can tell, without their CPU time."""

import asyncio
import threading
import urllib.request

import pytest

from calls.audiosocket.server import AudioSocketServer, ServerConfig
from calls.models import CallOutcome, TurnRole
from calls.prompts import BUSY_TO_OPERATOR, ONE_MOMENT
from tests.helpers.audiosocket_client import AudioSocketClient, AudioSocketClientError
from tests.helpers.call_records import ended_call, ended_call_turns, transcript, wait_for
from tests.helpers.server_process import free_port
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HELD_JOBS = 200  # far more than a reply budget's worth, whatever one job is measured to take


@pytest.fixture
async def server(settings):
    settings.STT_OVERLOAD_ROUTE = "operator"
    settings.STT_FILLER = True
    server = AudioSocketServer(ServerConfig(port=0, metrics_port=free_port()))
    await server.start()
    yield server
    await server.shutdown(grace=0)


def _async(check):
    async def predicate():
        return check()

    return predicate


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


async def test_a_saturated_queue_gives_a_filler_and_sends_new_calls_to_the_operators(
    server, async_client, settings
):
    caller = await AudioSocketClient.connect("127.0.0.1", server.port)
    caller.start_background_silence()
    await caller.read_audio_response(silence_gap_ms=800, first_frame_timeout=60)  # greeting

    release = threading.Event()
    held = [server.stt_executor.submit(release.wait, 120) for _ in range(HELD_JOBS)]
    try:
        await caller.send_audio(caller_voice("I need winter tires"))
        # Nothing can be transcribed while the workers are held: what the caller hears now is
        # the filler, not silence.
        filler = await caller.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
        assert filler.duration_ms > 300
        assert not release.is_set()

        # New calls are judged on the backlog of the last seconds, not on one moment's.
        queue = server.stt_executor
        await wait_for(
            _async(lambda: queue.lasting_wait_estimate() > settings.TURN_BUDGET_MS / 1000)
        )
        newcomer = await AudioSocketClient.connect("127.0.0.1", server.port)
        newcomer.start_background_silence()
        told = await newcomer.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
        assert told.duration_ms > 1000
        await newcomer.wait_closed(timeout=30)
        assert newcomer.received_hangup
        turned_away = await ended_call(newcomer.call_uuid)
        assert turned_away.outcome == CallOutcome.TRANSFERRED
        assert "speech-to-text at capacity" in turned_away.end_reason
        route = await async_client.get(f"/calls/{newcomer.call_uuid}/route")
        assert route.content.decode() == "operator"
        [said] = [t async for t in turned_away.turns.all()]
        assert said.role == TurnRole.BOT and said.text == BUSY_TO_OPERATOR["en"]

        text = await asyncio.to_thread(_metrics, server.config.metrics_port)
        assert f"callcenter_stt_queue_jobs {float(HELD_JOBS + 1)}" in text
        assert 'callcenter_stt_admissions_total{decision="refused"} 1.0' in text
        assert "callcenter_stt_fillers_total 1.0" in text
        assert "callcenter_stt_queue_wait_estimate_seconds" in text
        assert "callcenter_stt_job_seconds_average" in text
    finally:
        release.set()
        for job in held:
            await asyncio.wrap_future(job)

    # The workers are free again: the caller's own words are transcribed and answered.
    reply = await caller.read_audio_response(silence_gap_ms=800, first_frame_timeout=60)
    assert reply.duration_ms > 0
    try:
        await caller.hangup()
    except AudioSocketClientError:
        pass
    turns = await ended_call_turns(caller.call_uuid, 4)
    roles_and_texts = [(t.role, t.text) for t in turns]
    assert roles_and_texts[1] == (TurnRole.BOT, ONE_MOMENT["en"]), transcript(turns)
    [heard] = [t for t in turns if t.role == TurnRole.CALLER]
    assert "winter tires" in heard.text.lower(), transcript(turns)
    assert turns[-1].role == TurnRole.BOT and turns[-1].sequence > heard.sequence
    text = await asyncio.to_thread(_metrics, server.config.metrics_port)
    assert 'callcenter_stt_admissions_total{decision="admitted"}' in text
