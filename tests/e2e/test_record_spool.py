"""A database outage followed by a hard stop loses no call record: while the database is away
the server spools its records to a local file (append-only, fsync'd), and the next server to
start on the host writes them once the database is back. A call that was still going on when
its server died is ended as failed, "server stopped", with what was said.

The outage is real: the first server reaches PostgreSQL through a TCP proxy the test cuts.
"""

import asyncio
from urllib.parse import urlsplit

import pytest

from calls.models import Call, CallOutcome, TurnRole
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call_turns, transcript, wait_for
from tests.helpers.server_process import database_url, start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.slow]


async def _greeted(server) -> AudioSocketClient:
    client = await AudioSocketClient.connect(server.host, server.port)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=1000, first_frame_timeout=30)
    return client


async def test_records_spooled_during_an_outage_survive_a_kill(database_proxy, tmp_path):
    url = urlsplit(database_url())
    through_proxy = url._replace(netloc=f"{url.username}@127.0.0.1:{database_proxy.port}")
    spool = {"RECORDER_SPOOL_DIR": str(tmp_path), "AGENT": "repeat", "NO_INPUT_TIMEOUT": "60"}
    first = start_server(env={**spool, "DATABASE_URL": through_proxy.geturl()})
    try:
        database_proxy.cut()
        finished = await _greeted(first)
        await finished.hangup()
        ongoing = await _greeted(first)

        async def writes_failed():
            return "cannot write call records" in first.log

        await wait_for(writes_failed, timeout=30)
        await asyncio.sleep(3)  # the ended call's last change fails (and is spooled) too
        first.process.kill()  # no drain, no last write: only the spool remains
        first.wait(10)
        await ongoing.close()
    finally:
        first.stop()
        database_proxy.restore()

    second = start_server(env=spool)
    try:
        finished_turns = await ended_call_turns(finished.call_uuid, 1, timeout=60)
        ongoing_turns = await ended_call_turns(ongoing.call_uuid, 1, timeout=60)
    finally:
        second.stop()

    said = transcript(finished_turns)
    assert [t.role for t in finished_turns] == [TurnRole.BOT], said
    call = await Call.objects.aget(uuid=finished.call_uuid)
    assert call.end_reason == "caller hung up"
    assert [t.role for t in ongoing_turns] == [TurnRole.BOT]
    killed = await Call.objects.aget(uuid=ongoing.call_uuid)
    assert (killed.outcome, killed.end_reason) == (CallOutcome.FAILED, "server stopped")
    assert "from the spool" in second.log
    # Written, the spool is emptied: nothing is replayed twice.
    assert not [p for p in tmp_path.glob("*.jsonl") if p.stat().st_size]
