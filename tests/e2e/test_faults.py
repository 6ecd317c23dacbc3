"""Faults injected into a running system: the database or Redis goes away mid-call, a speech
or language engine errs or hangs, the caller hangs up mid-reply, the server is stopped with 50
calls live. Each call degrades politely (an apology, an operator), the server carries on with
everyone else, and what was said is stored, once.

Outages are real: the server reaches PostgreSQL and Redis through a TCP proxy the test cuts
(open connections drop, new ones are refused) and restores.
"""

import asyncio
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from calls.models import Call, CallOutcome, CallStatus, Turn, TurnRole
from tests.helpers.audiosocket_client import AudioSocketClient, AudioSocketClientError
from tests.helpers.call_records import ended_call_turns, transcript
from tests.helpers.fake_llm_api import FakeChatAPI
from tests.helpers.fake_speech_api import API_KEY
from tests.helpers.server_process import database_url, start_server
from tests.helpers.tcp_proxy import TCPProxy
from tests.helpers.voices import caller_voice

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e, pytest.mark.slow]

RATE = 16000
QUESTION = "Do you have winter tires two hundred five fifty five R sixteen?"


async def _greeted(server, **kwargs) -> AudioSocketClient:
    client = await AudioSocketClient.connect(server.host, server.port, sample_rate=RATE, **kwargs)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=1000, first_frame_timeout=30)
    return client


async def _ask(client: AudioSocketClient, text: str):
    await client.send_audio(caller_voice(text, client.sample_rate))
    return await client.read_audio_response(silence_gap_ms=1200, first_frame_timeout=30)


# --- The database goes away mid-call -------------------------------------------------------------


async def test_a_database_outage_mid_call_loses_no_turn_and_duplicates_none(database_proxy):
    url = urlsplit(database_url())
    through_proxy = url._replace(netloc=f"{url.username}@127.0.0.1:{database_proxy.port}")
    server = start_server(env={"DATABASE_URL": through_proxy.geturl(), "NO_INPUT_TIMEOUT": "60"})
    try:
        first = await _greeted(server)
        database_proxy.cut()
        # The caller asks about the catalog, which is away: an apology and an operator.
        apology = await _ask(first, QUESTION)
        await first.wait_closed(timeout=30)
        # Meanwhile the server keeps answering new calls.
        second = await _greeted(server)
        await second.hangup()
        await asyncio.sleep(2)
        database_proxy.restore()
        # Back: everything said during the outage is written.
        first_turns = await ended_call_turns(first.call_uuid, 3, timeout=30)
        second_turns = await ended_call_turns(second.call_uuid, 1, timeout=30)
    finally:
        server.stop()

    assert apology.duration_ms > 2000
    said = transcript(first_turns)
    assert [t.role for t in first_turns] == [TurnRole.BOT, TurnRole.CALLER, TurnRole.BOT], said
    assert "winter" in first_turns[1].text.lower(), said
    assert "operator" in first_turns[2].text, said
    assert [t.sequence for t in first_turns] == [0, 1, 2]  # each once, none lost
    call = await Call.objects.aget(uuid=first.call_uuid)
    assert call.outcome == CallOutcome.TRANSFERRED
    assert call.end_reason.startswith("the agent failed: OperationalError")
    assert [t.role for t in second_turns] == [TurnRole.BOT]
    assert (await Call.objects.aget(uuid=second.call_uuid)).status == CallStatus.ENDED
    assert "cannot write call records" in server.log


# --- Redis goes away ---------------------------------------------------------------------------


async def test_calls_carry_on_while_redis_is_away():
    redis_url = urlsplit(settings.REDIS_URL or "redis://127.0.0.1:6379/0")
    proxy = TCPProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379).start()
    through_proxy = f"redis://127.0.0.1:{proxy.port}/15"
    # Redis carries the live monitor's events and Celery's tasks (the wrap-up) from here.
    server = start_server(env={"REDIS_URL": through_proxy, "CELERY_BROKER_URL": through_proxy})
    try:
        proxy.cut()
        client = await _greeted(server)
        reply = await _ask(client, "I need winter tires")
        await client.hangup()
        turns = await ended_call_turns(client.call_uuid, 3)
    finally:
        server.stop()
        proxy.stop()

    # Heard and answered as on any day (what the agent asks next is not the point here).
    assert reply.duration_ms > 1000
    said = transcript(turns)
    assert [t.role for t in turns] == [TurnRole.BOT, TurnRole.CALLER, TurnRole.BOT], said
    assert "winter" in turns[1].text.lower() and turns[2].text, said
    call = await Call.objects.aget(uuid=client.call_uuid)
    assert call.end_reason == "caller hung up"
    # Said once each, not per event; the wrap-up waits for the sweep.
    assert server.log.count("cannot publish") == 1, server.log[-3000:]
    assert "could not queue the wrap-up" in server.log


# --- Engines that err or hang ------------------------------------------------------------------


async def test_a_speech_to_text_outage_gets_an_apology_then_an_operator(fake_speech_api, tmp_path):
    server = start_server(
        env={
            "STT_ENGINE": "google",
            "GOOGLE_STT_URL": fake_speech_api.google_url,
            "GOOGLE_API_KEY": API_KEY,
            "TTS_CACHE_DIR": str(tmp_path / "prompts"),
            "NO_INPUT_TIMEOUT": "60",
        }
    )
    try:
        fake_speech_api.down.add("/google/v1/speech:recognize")
        client = await _greeted(server)
        sorry = await _ask(client, QUESTION)  # once may be the line: "say it again"
        transfer = await _ask(client, QUESTION)  # twice is the engine: an operator
        await client.wait_closed(timeout=30)
        turns = await ended_call_turns(client.call_uuid, 3)
        # The server carries on: the next caller is greeted.
        fake_speech_api.down.clear()
        other = await _greeted(server)
        await other.hangup()
    finally:
        server.stop()

    assert sorry.duration_ms > 1000 and transfer.duration_ms > 2000
    said = transcript(turns)
    assert "say it again" in turns[1].text and "operator" in turns[2].text, said
    call = await Call.objects.aget(uuid=client.call_uuid)
    assert call.outcome == CallOutcome.TRANSFERRED
    assert call.end_reason.startswith("speech-to-text failed"), call.end_reason


async def test_a_language_model_that_hangs_gets_an_apology_and_an_operator():
    llm = FakeChatAPI().start()
    llm.delay = 30  # it never answers in time
    server = start_server(
        env={
            "AGENT": "llm",
            "LLM_API_URL": llm.openai_url,
            "LLM_API_KEY": API_KEY,
            "LLM_TIMEOUT": "2",
            "AGENT_TIMEOUT": "3",
            "NO_INPUT_TIMEOUT": "60",
        }
    )
    try:
        client = await _greeted(server)
        started = time.monotonic()
        apology = await _ask(client, QUESTION)
        waited = time.monotonic() - started
        await client.wait_closed(timeout=30)
        turns = await ended_call_turns(client.call_uuid, 3)
    finally:
        server.stop()
        llm.delay = 0
        llm.stop()

    assert "operator" in turns[-1].text, transcript(turns)
    assert apology.duration_ms > 2000
    # The caller waited for the time-out, not for the model.
    assert waited < 20
    call = await Call.objects.aget(uuid=client.call_uuid)
    assert call.outcome == CallOutcome.TRANSFERRED
    assert call.end_reason.startswith("the LLM agent failed"), call.end_reason


# --- The caller hangs up mid-reply --------------------------------------------------------------


async def test_a_caller_who_hangs_up_mid_reply_is_recorded_with_what_they_heard(server):
    client = await _greeted(server)
    await client.send_audio(caller_voice(QUESTION, RATE))
    # Hang up as soon as the reply starts playing.
    while True:
        packet = await client.read_packet(timeout=30)
        if packet.is_audio and max(packet.payload) > 8:
            break
    await asyncio.sleep(0.6)
    await client.hangup()
    turns = await ended_call_turns(client.call_uuid, 3)

    said = transcript(turns)
    reply = turns[2]
    assert reply.role == TurnRole.BOT and reply.interrupted, said
    assert 0 < reply.end_ms - reply.start_ms < 3000, said  # what played before the hang-up
    call = await Call.objects.aget(uuid=client.call_uuid)
    assert (call.outcome, call.end_reason) == (CallOutcome.ABANDONED, "caller hung up")


# --- SIGTERM with 50 calls live ----------------------------------------------------------------


async def _frames_within(client: AudioSocketClient, seconds: float) -> int:
    frames, deadline = 0, time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            packet = await client.read_packet(timeout=left)
        except TimeoutError:
            break
        frames += packet.is_audio
    return frames


async def test_sigterm_with_50_calls_live_cuts_none_before_the_grace_period():
    # A grace period far longer than the test waits: the server must stop when the calls do.
    server = start_server("--grace-period", "120", "--max-calls", "60")
    try:
        clients = await asyncio.gather(
            *(AudioSocketClient.connect(server.host, server.port) for _ in range(50))
        )
        for client in clients:
            client.start_background_silence()
        await asyncio.gather(*(c.read_audio_response(first_frame_timeout=30) for c in clients))
        server.terminate()
        started = time.monotonic()
        await asyncio.sleep(0.5)
        with pytest.raises((OSError, AudioSocketClientError)):
            late = await AudioSocketClient.connect(server.host, server.port, timeout=2)
            await late.read_packet(timeout=2)
        # Every call goes on receiving its 20 ms frames while the server drains (150 in 3 s;
        # at least half on a busy machine: their pace is bench_audiosocket.py's to measure).
        frames = await asyncio.gather(*(_frames_within(c, 3) for c in clients))
        assert min(frames) >= 75, frames
        assert not any(c.closed or c.received_hangup for c in clients)
        await asyncio.gather(*(c.hangup() for c in clients))
        assert await asyncio.to_thread(server.wait, 60) == 0
        assert time.monotonic() - started < 90  # it stopped when the calls did, not at the end
    finally:
        server.stop()

    uuids = [c.call_uuid for c in clients]
    calls = [c async for c in Call.objects.filter(uuid__in=uuids)]
    assert len(calls) == 50
    assert {(c.status, c.end_reason) for c in calls} == {(CallStatus.ENDED, "caller hung up")}
    greetings = Turn.objects.filter(call__uuid__in=uuids, role=TurnRole.BOT, sequence=0)
    assert await greetings.acount() == 50
