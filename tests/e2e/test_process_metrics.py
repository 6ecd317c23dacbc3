"""The AudioSocket process's own HTTP endpoint, through the real run_audiosocket: /metrics has the
live histograms and counters of a real call, /healthz says whether it takes calls (503 while it
drains after SIGTERM), and the endpoint is gone once the process has stopped."""

import asyncio
import json
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


async def _get(port: int, path: str) -> tuple[int, str]:
    def get() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    return await asyncio.to_thread(get)


def _samples(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_a_live_call_shows_on_metrics_and_healthz_until_the_process_stops(metered_server):
    port = metered_server.metrics_port
    status, body = await _get(port, "/healthz")
    assert status == 200, body
    idle = json.loads(body)
    assert idle["accepting"] is True and idle["active_calls"] == 0
    assert idle["max_calls"] == 200 and idle["database_writes_failing"] is False
    assert idle["seconds_since_clock_tick"] < 1

    client = await AudioSocketClient.connect(metered_server.host, metered_server.port)
    client.start_background_silence()
    greeting = await client.read_audio_response(silence_gap_ms=800)
    await client.send_audio(caller_voice("I need winter tires"))
    reply = await client.read_audio_response(silence_gap_ms=800, first_frame_timeout=30)
    assert greeting.duration_ms > 1000 and reply.duration_ms > 1000

    status, text = await _get(port, "/metrics")
    assert status == 200
    samples = _samples(text)
    assert samples["callcenter_turn_total_seconds_count", ()] >= 1
    assert samples["callcenter_turns_total", (("role", "caller"),)] == 1
    assert samples["callcenter_turns_total", (("role", "bot"),)] == 2  # greeting and reply
    assert samples["callcenter_calls_started_total", ()] == 1
    assert samples["callcenter_active_calls", ()] == 1
    assert "callcenter_frame_clock_lateness_seconds_bucket" in text

    status, body = await _get(port, "/healthz")
    assert status == 200, body
    live = json.loads(body)
    assert live["status"] == "ok" and live["active_calls"] == 1
    assert live["records_pending"] is not None
    assert (await _get(port, "/nowhere"))[0] == 404

    # SIGTERM with the call still on: the process drains, and says it takes no calls.
    metered_server.terminate()
    for _ in range(50):
        status, body = await _get(port, "/healthz")
        if status == 503:
            break
        await asyncio.sleep(0.1)
    draining = json.loads(body)
    assert status == 503 and draining["accepting"] is False, body
    assert draining["active_calls"] == 1

    await client.hangup()
    assert await asyncio.to_thread(metered_server.wait, 30) == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert "Traceback" not in metered_server.log
    assert len(await ended_call_turns(client.call_uuid, 3)) == 3
