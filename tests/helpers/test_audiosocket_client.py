"""The test client speaks AudioSocket as Asterisk does; checked against a small fake peer."""

import asyncio
import time
import uuid

import pytest

from calls.audiosocket.protocol import Decoder, Kind, encode_audio, encode_hangup
from tests.helpers.audiosocket_client import AudioSocketClient, AudioSocketClientError


class Peer:
    """A minimal AudioSocket server that records what it receives and sends what it is told."""

    def __init__(self) -> None:
        self.packets: list[tuple[float, object]] = []
        self.writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()

    async def handle(self, reader, writer) -> None:
        self.writer = writer
        self.connected.set()
        decoder = Decoder()
        while data := await reader.read(65536):
            now = time.monotonic()
            self.packets.extend((now, p) for p in decoder.feed(data))
        writer.close()  # the caller is gone: close as the server does

    def kinds(self) -> list[Kind]:
        return [p.kind for _, p in self.packets]


@pytest.fixture
async def peer():
    fake = Peer()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    yield fake
    server.close()


async def _client(peer: Peer, **kwargs) -> AudioSocketClient:
    client = await AudioSocketClient.connect("127.0.0.1", peer.port, **kwargs)
    await peer.connected.wait()
    return client


async def test_the_uuid_is_the_first_packet(peer):
    call_uuid = uuid.uuid4()
    client = await _client(peer, call_uuid=call_uuid)
    await client.send_silence(40)
    await client.close()
    await asyncio.sleep(0.05)
    assert peer.packets[0][1].uuid == call_uuid
    assert peer.kinds()[1:] == [Kind.AUDIO_8K, Kind.AUDIO_8K]


@pytest.mark.parametrize(
    ("rate", "kind", "size"), [(8000, Kind.AUDIO_8K, 320), (16000, Kind.AUDIO_16K, 640)]
)
async def test_audio_goes_out_in_20_ms_frames_at_real_time_pace(peer, rate, kind, size):
    client = await _client(peer, sample_rate=rate)
    started = time.monotonic()
    await client.send_audio(b"\x10\x00" * rate)  # one second
    elapsed = time.monotonic() - started
    await client.close()
    await asyncio.sleep(0.05)
    frames = [(t, p) for t, p in peer.packets if p.is_audio]
    assert len(frames) == 50
    assert {(p.kind, len(p.payload)) for _, p in frames} == {(kind, size)}
    # Real time: never faster (a burst is not a phone line); slower only as much as a busy
    # machine delays the sender.
    assert 0.9 <= elapsed <= 5
    arrival = [t for t, _ in frames]
    assert 0.9 <= arrival[-1] - arrival[0] <= 5


async def test_the_last_frame_is_padded_with_silence(peer):
    client = await _client(peer)
    await client.send_audio(b"\x01\x00" * 200)  # 25 ms
    await client.close()
    await asyncio.sleep(0.05)
    audio = [p.payload for _, p in peer.packets if p.is_audio]
    assert [len(a) for a in audio] == [320, 320]
    assert audio[1] == b"\x01\x00" * 40 + bytes(240)


async def test_background_silence_never_doubles_the_frame_rate(peer):
    client = await _client(peer)
    client.start_background_silence()
    await asyncio.sleep(0.3)
    await client.send_audio(b"\x20\x00" * 4000)  # half a second of speech
    await asyncio.sleep(0.3)
    await client.close()
    await asyncio.sleep(0.05)
    times = [t for t, p in peer.packets if p.is_audio]
    rate = (len(times) - 1) / (times[-1] - times[0])
    # 50 frames a second, never two streams at once (100); a busy machine may send fewer.
    assert 20 <= rate <= 55


async def test_dtmf_and_hangup_are_sent_as_asterisk_sends_them(peer):
    client = await _client(peer)
    await client.send_dtmf("0")
    await client.hangup()
    await asyncio.sleep(0.05)
    assert peer.kinds() == [Kind.UUID, Kind.DTMF, Kind.HANGUP]
    assert peer.packets[1][1].digit == "0"


async def test_an_audio_response_ends_at_the_silence_gap(peer):
    client = await _client(peer)
    speech = encode_audio(b"\x00\x10" * 160)
    silence = encode_audio(bytes(320))

    async def speak() -> None:
        for frame in [silence] * 5 + [speech] * 25 + [silence] * 40:
            peer.writer.write(frame)
            await asyncio.sleep(0.02)

    task = asyncio.create_task(speak())
    response = await client.read_audio_response(silence_gap_ms=300, first_frame_timeout=2)
    await task
    await client.close()
    assert response.duration_ms == 500
    assert response.first_audio_at is not None and not response.hung_up


async def test_reading_times_out_with_a_clear_error_when_the_peer_is_silent(peer):
    client = await _client(peer)
    with pytest.raises(TimeoutError, match=r"no packet from the server within 0\.2 s"):
        await client.read_packet(timeout=0.2)
    with pytest.raises(TimeoutError, match=r"the bot said nothing within 0\.2 s"):
        await client.read_audio_response(first_frame_timeout=0.2)
    await client.close()


async def test_a_server_hangup_is_noticed(peer):
    client = await _client(peer)
    peer.writer.write(encode_hangup())
    await peer.writer.drain()
    peer.writer.close()
    packet = await client.read_packet(timeout=2)
    assert packet.kind == Kind.HANGUP and client.received_hangup
    await client.wait_closed(timeout=2)
    with pytest.raises(AudioSocketClientError, match="closed the connection"):
        await client.read_packet(timeout=1)
    await client.close()
