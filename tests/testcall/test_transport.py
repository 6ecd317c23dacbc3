"""The browser transport alone: what the page sends becomes the session's packets, the bot's
frames go back at the page's rate with silence skipped, and phone quality is the G.711 path."""

import warnings

import numpy as np
import pytest

from calls.audiosocket.connection import CallConnection
from calls.audiosocket.protocol import Kind
from calls.testcall.browser import BrowserTransport
from calls.transport import CallTransport, ConnectionClosed
from calls.voice.telephone import mulaw_round_trip


def _tone(rate: int, ms: int = 20, amplitude: int = 8000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


def test_both_transports_have_what_the_session_uses():
    members = ("read_packets", "encode_audio", "send", "write_backlog", "stalled")
    for transport in (CallConnection, BrowserTransport):
        for member in (*members, "hang_up_and_close", "name"):
            assert hasattr(transport, member), (transport, member)
    assert {m for m in members if hasattr(CallTransport, m)} == set(members)


def test_mulaw_round_trip_is_g711_as_audioop_codes_it():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    every_sample = np.arange(-32768, 32768, dtype="<i2").tobytes()
    expected = audioop.ulaw2lin(audioop.lin2ulaw(every_sample, 2), 2)
    assert mulaw_round_trip(every_sample) == expected
    assert mulaw_round_trip(every_sample) != every_sample


async def test_the_page_s_audio_keys_and_hang_up_come_out_as_packets():
    transport = BrowserTransport(16000, lambda data: None)
    tone = _tone(16000)
    transport.feed_audio(tone)
    transport.feed_dtmf("5")
    transport.feed_hangup()
    first_audio, audio, key, hangup = await transport.read_packets(1)
    assert first_audio.sample_rate == 16000 and first_audio.payload == bytes(640)
    assert audio.kind == Kind.AUDIO_16K and audio.payload == tone
    assert key.digit == "5" and hangup.kind == Kind.HANGUP
    with pytest.raises(TimeoutError):
        await transport.read_packets(0.05)
    transport.peer_closed()
    with pytest.raises(ConnectionClosed):
        await transport.read_packets(1)


async def test_phone_quality_takes_the_telephone_path_in_and_out():
    sent: list[bytes] = []
    transport = BrowserTransport(8000, sent.append, phone_quality=True)
    tone = _tone(8000)
    transport.feed_audio(tone)
    _, audio = await transport.read_packets(1)
    assert audio.kind == Kind.AUDIO_8K and audio.payload == mulaw_round_trip(tone) != tone
    transport.send(transport.encode_audio(tone, 8000))
    assert sent == [mulaw_round_trip(tone)]


async def test_a_16_khz_page_in_phone_quality_talks_to_an_8_khz_call():
    sent: list[bytes] = []
    transport = BrowserTransport(16000, sent.append, phone_quality=True)
    assert transport.session_rate == 8000
    for _ in range(10):
        transport.feed_audio(_tone(16000))
    packets = await transport.read_packets(1)
    assert {p.sample_rate for p in packets} == {8000}
    inbound = sum(len(p.payload) for p in packets[1:])
    # 200 ms at 8 kHz, less the filter's delay (under 30 ms: a caller must not wait for it).
    assert 10 * 320 - 480 <= inbound <= 10 * 320
    for _ in range(10):
        transport.send(transport.encode_audio(_tone(8000), 8000))
    assert 10 * 640 - 960 <= sum(len(frame) for frame in sent) <= 10 * 640


async def test_silent_frames_are_not_sent_and_nothing_after_the_hang_up():
    sent: list[bytes] = []
    transport = BrowserTransport(16000, sent.append)
    transport.send(transport.encode_audio(bytes(640), 16000))
    assert sent == []
    transport.send(transport.encode_audio(_tone(16000), 16000))
    assert len(sent) == 1
    await transport.hang_up_and_close()
    transport.send(transport.encode_audio(_tone(16000), 16000))
    assert len(sent) == 1
