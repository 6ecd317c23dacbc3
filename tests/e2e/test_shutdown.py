"""SIGTERM right after a call with keypad input ended: the real `run_audiosocket` exits and
releases its ports (on Python 3.11 `asyncio.wait_for` could swallow the cancellation)."""

import asyncio
import socket
import subprocess

import pytest

from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call
from tests.helpers.server_process import free_port, start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("pause", [0.2, 1.0])
async def test_sigterm_just_after_a_keypad_call_ended_stops_the_process(pause):
    metrics_port = free_port()
    server = start_server("--metrics-port", str(metrics_port), "--grace-period", "5")
    try:
        client = await AudioSocketClient.connect(server.host, server.port)
        client.start_background_silence()
        await client.read_audio_response(silence_gap_ms=400, first_frame_timeout=15)
        for digit in "12":
            await client.send_dtmf(digit)
        await asyncio.sleep(0.3)
        await client.hangup()  # within the keypad's 2 s pause: the entry is still open
        await asyncio.sleep(pause)
        server.terminate()
        try:
            status = await asyncio.to_thread(server.wait, 30)
        except subprocess.TimeoutExpired:
            pytest.fail("the server did not exit within 30 s of SIGTERM:\n" + server.log[-3000:])
        assert status == 0, server.log[-3000:]
        assert port_is_free(metrics_port), "the status port is released"
        call = await ended_call(client.call_uuid)
        assert call.end_reason == "caller hung up"
    finally:
        server.stop()
