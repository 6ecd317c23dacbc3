"""Voice test calls over the socket: the page's microphone (synthesised or recorded speech, sent
in 20 ms frames at real-time pace) goes through the same CallSession pipeline as a phone call;
the caller's words come back as a transcribed turn and the bot's speech as binary frames at the
page's rate; phone quality runs the call at 8 kHz through mu-law."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from calls.models import Call, TurnInput, TurnRole
from calls.voice.audio import peak
from tests.helpers.voices import caller_voice, human_recording

from .conftest import Microphone, Page, make_user, open_socket

pytestmark = [pytest.mark.django_db(transaction=True)]


async def _voice_call(rate: int, phone_quality: bool) -> tuple[Page, Microphone, dict]:
    user = await database_sync_to_async(make_user)()
    page = Page(await open_socket(user))
    connected, _ = await page.socket.connect(timeout=10)
    assert connected
    await page.send(
        type="start", mode="voice", sample_rate=rate, phone_quality=phone_quality, language=""
    )
    # The first call of a process loads the speech engines: generous.
    started = await page.until(lambda e: e["type"] == "started", timeout=120)
    assert started["mode"] == "voice" and started["sample_rate"] == rate
    microphone = Microphone(page, rate)
    microphone.start()
    greeting = await page.until(lambda e: e["type"] == "turn", timeout=60)
    assert greeting["role"] == "bot" and "help" in greeting["text"].lower()
    return page, microphone, started


async def _say_and_hear(page: Page, microphone: Microphone, speech: bytes) -> tuple[dict, dict]:
    """Speak; return the caller's turn as transcribed and the bot's answer to it."""
    heard_before = len(page.audio)
    microphone.say(speech)
    caller = await page.until(lambda e: e["type"] == "turn" and e["role"] == "caller", 90)
    answer = await page.until(lambda e: e["type"] == "turn" and e["role"] == "bot", 90)
    assert len(page.audio) > heard_before, "the answer was heard as audio frames"
    return caller, answer


async def _hang_up(page: Page, microphone: Microphone) -> dict:
    await page.send(type="hangup")
    ended = await page.until(lambda e: e["type"] == "ended", timeout=30)
    await microphone.stop()
    assert await page.receive() is None and page.closed["code"] == 1000
    return ended


def _call(call_uuid: str):
    call = Call.objects.get(uuid=call_uuid)
    return call, list(call.turns.order_by("sequence"))


async def _stored(call_uuid: str, role: str) -> tuple[Call, list]:
    for _ in range(100):
        call, turns = await database_sync_to_async(_call)(call_uuid)
        if call.ended_at is not None and any(t.role == role for t in turns):
            return call, turns
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_uuid} was not stored with its turns")


async def test_a_spoken_request_is_transcribed_and_answered_in_audio(settings):
    settings.CALL_LANGUAGE, settings.CALL_LANGUAGES = "en", ["en"]
    page, microphone, started = await _voice_call(16000, phone_quality=False)
    caller, answer = await _say_and_hear(
        page, microphone, caller_voice("I need winter tires", 16000)
    )
    ended = await _hang_up(page, microphone)

    assert "winter" in caller["text"].lower(), caller
    assert answer["text"]
    # 20 ms frames at the page's rate; pure silence is never sent.
    assert {len(frame) for frame in page.audio} == {640}
    assert all(peak(frame) > 0 for frame in page.audio)
    timing = page.of_type("timing")[-1]
    assert timing["stt_ms"] is not None and timing["first_audio_ms"] is not None
    assert page.of_type("understood")[-1]["slots"].get("season") == "winter"
    assert ended["reason"] == "caller hung up" and ended["sandbox"] is True

    call, turns = await _stored(started["call"], TurnRole.CALLER)
    assert call.is_test and call.sample_rate == 16000
    spoken = [t for t in turns if t.role == TurnRole.CALLER]
    assert spoken[0].via == TurnInput.VOICE and "winter" in spoken[0].text.lower()


async def test_phone_quality_runs_a_recorded_human_voice_at_8_khz(settings):
    settings.CALL_LANGUAGE, settings.CALL_LANGUAGES = "en", ["en"]
    recording = human_recording("en", "check-number-dial-again")  # 8 kHz, a human speaker
    page, microphone, started = await _voice_call(8000, phone_quality=True)
    caller, _ = await _say_and_hear(page, microphone, recording)
    await _hang_up(page, microphone)

    assert "number" in caller["text"].lower(), caller
    assert {len(frame) for frame in page.audio} == {320}  # 20 ms at 8 kHz
    call, _ = await _stored(started["call"], TurnRole.CALLER)
    assert call.sample_rate == 8000


async def test_phone_quality_from_a_16_khz_page_runs_the_call_at_8_khz(settings):
    settings.CALL_LANGUAGE, settings.CALL_LANGUAGES = "en", ["en"]
    page, microphone, started = await _voice_call(16000, phone_quality=True)
    caller, _ = await _say_and_hear(page, microphone, caller_voice("I need winter tires", 16000))
    await _hang_up(page, microphone)

    assert "winter" in caller["text"].lower(), caller
    # The bot's audio comes back at the page's rate, resampled from the 8 kHz line.
    heard = sum(len(frame) for frame in page.audio) // 2 / 16000
    assert heard > 1.0
    call, _ = await _stored(started["call"], TurnRole.CALLER)
    assert call.sample_rate == 8000
