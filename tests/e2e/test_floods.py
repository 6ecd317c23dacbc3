"""Floods against the real `run_audiosocket`: a keypad flood, audio faster than real time and
handshake-less connections. The flooding peer is cut off with a clear reason and a small
record; the call beside it keeps being served."""

import asyncio
import time

import psutil
import pytest

from calls.audiosocket.protocol import encode_dtmf
from calls.models import CallOutcome, Turn
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call
from tests.helpers.server_process import ServerProcess, start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

MB = 1024 * 1024


def rss(server: ServerProcess) -> int:
    return psutil.Process(server.process.pid).memory_info().rss


async def greeted(server: ServerProcess) -> AudioSocketClient:
    """A caller on the line who has heard the greeting."""
    client = await AudioSocketClient.connect(server.host, server.port)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=400, first_frame_timeout=15)
    return client


async def largest_gap(client: AudioSocketClient, seconds: float) -> float:
    """The longest wait, in seconds, between two packets the server sent in `seconds`."""
    gap, last = 0.0, time.monotonic()
    deadline = last + seconds
    while (now := time.monotonic()) < deadline:
        await client.read_packet(timeout=15)
        now = time.monotonic()
        gap, last = max(gap, now - last), now
    return gap


async def test_a_keypad_flood_is_hung_up_with_a_small_record_and_others_are_served():
    server = start_server("--idle-timeout", "5", env={"NO_INPUT_TIMEOUT": "30"})
    try:
        bystander = await greeted(server)
        flooder = await greeted(server)
        before = rss(server)

        # 100,000 key presses in one burst (400 KB), as the review sent them.
        flood = encode_dtmf("5") * 100_000
        started = time.monotonic()
        flooding = asyncio.ensure_future(flooder.send_raw(flood))
        gap = await largest_gap(bystander, 1.5)
        # The other caller keys 0 for an operator and is answered.
        await bystander.send_dtmf("0")
        farewell = await bystander.read_audio_response(silence_gap_ms=800, first_frame_timeout=10)
        answered = farewell.first_audio_at - started
        try:
            await flooding
        except ConnectionError:
            pass  # the server hung up and closed mid-flood
        # Hung up and closed (the hang-up packet may be lost to the reset that closing a
        # socket with unread data sends).
        await flooder.wait_closed(timeout=10)
        call = await ended_call(flooder.call_uuid)
        assert call.outcome == CallOutcome.FAILED
        assert call.end_reason.startswith("keypad flood"), call.end_reason
        rows = await Turn.objects.filter(call=call).acount()
        assert rows < 100, f"{rows} turns recorded for the flood"
        longest = max([len(text) async for text in Turn.objects.values_list("text", flat=True)])
        assert longest < 400, "no digit string is read back"
        grown = (rss(server) - before) / MB
        assert grown < 200, f"the server grew by {grown:.0f} MB"
        assert farewell.duration_ms > 1000
        lines = [line for line in server.log.splitlines() if str(flooder.call_uuid) in line]
        assert len(lines) < 10, "the flood is logged once, not per key"
        print(f"\nkeypad flood: largest gap {gap:.2f} s, other caller answered {answered:.2f} s")
        print(f"keypad flood: {rows} turns, RSS +{grown:.0f} MB")
        await bystander.close()
    finally:
        server.stop()
