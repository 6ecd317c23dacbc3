"""A server killed mid-call (SIGKILL: no drain, no last write) leaves no call "in progress"
forever: the next server to start on the host ends the dead process's calls as failed, "server
stopped", with the turns that were written."""

import pytest

from calls.models import Call, CallOutcome, CallStatus, Turn, TurnRole
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call, wait_for
from tests.helpers.server_process import start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.slow]


async def test_the_calls_of_a_killed_server_are_ended_when_the_next_one_starts():
    killed = start_server(env={"AGENT": "repeat", "NO_INPUT_TIMEOUT": "60"})
    try:
        client = await AudioSocketClient.connect(killed.host, killed.port)
        client.start_background_silence()
        await client.read_audio_response(first_frame_timeout=30)

        async def greeting_written():
            return await Turn.objects.filter(call__uuid=client.call_uuid).aexists()

        await wait_for(greeting_written, timeout=30)
        killed.process.kill()
        killed.wait(10)
        await client.close()
    finally:
        killed.stop()
    live = await Call.objects.aget(uuid=client.call_uuid)
    assert live.status == CallStatus.IN_PROGRESS  # as the killed server left it

    successor = start_server(env={"AGENT": "repeat"})
    try:
        call = await ended_call(client.call_uuid, timeout=60)
    finally:
        successor.stop()

    assert (call.outcome, call.end_reason) == (CallOutcome.FAILED, "server stopped")
    assert call.ended_at is not None and call.ended_at >= call.started_at
    roles = [t.role async for t in Turn.objects.filter(call=call).order_by("sequence")]
    assert roles[:1] == [TurnRole.BOT]  # the greeting that was written is kept
    assert "ended 1 calls of stopped servers" in successor.log
