"""Hostile input to the real `run_audiosocket`: random and mutated byte streams, slow-loris
connections, a flood far above --max-calls, and broken packets mid-call. Each bad connection
ends with a clear reason and loses nothing said before; the server stays up, keeps serving good
calls, and leaks no connection."""

import asyncio
import socket
import struct
import time
import uuid

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.audiosocket.protocol import (
    RATE_BY_AUDIO_KIND,
    Kind,
    encode,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
)
from calls.models import Call, CallOutcome, CallStatus, Turn, TurnInput, TurnRole
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.call_records import ended_call, wait_for
from tests.helpers.server_process import ServerProcess, start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

HANGUP = encode_hangup()


# --- Helpers ------------------------------------------------------------------------------------


def open_sockets(server: ServerProcess) -> list[str]:
    """The statuses of the server's TCP connections on its AudioSocket port (not the listener)."""
    process = psutil.Process(server.process.pid)
    lister = getattr(process, "net_connections", None) or process.connections
    return [
        conn.status
        for conn in lister(kind="tcp")
        if conn.laddr and conn.laddr.port == server.port and conn.status != psutil.CONN_LISTEN
    ]


async def assert_no_connection_left(server: ServerProcess, within: float) -> None:
    """The server's open connections drop back to none (ESTABLISHED or half-closed alike)."""
    deadline = time.monotonic() + within
    while (still := open_sockets(server)) and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
    assert not still, f"the server still holds {len(still)} connections: {sorted(set(still))}"


async def greeting_delay(server: ServerProcess, timeout: float = 30.0) -> float:
    """Seconds from connecting until the greeting's first audible frame, for a good call."""
    started = time.monotonic()
    client = await AudioSocketClient.connect(server.host, server.port)
    client.start_background_silence()
    try:
        response = await client.read_audio_response(
            silence_gap_ms=300, first_frame_timeout=timeout, max_duration=0.5
        )
        return response.first_audio_at - started
    finally:
        await client.hangup()


async def read_until_closed(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (TimeoutError if it won't)."""
    received = bytearray()
    async with asyncio.timeout(timeout):
        while True:
            try:
                data = await reader.read(65536)
            except ConnectionError:
                break
            if not data:
                break
            received += data
    return bytes(received)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a crashed peer or a scanner does."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- Random and mutated byte streams ------------------------------------------------------------

HANDSHAKE, IDLE = 1.0, 2.0

_valid_packet = st.one_of(
    st.sampled_from(sorted(RATE_BY_AUDIO_KIND, key=int)).flatmap(
        lambda kind: st.binary(min_size=2, max_size=640).map(
            lambda pcm, kind=kind: encode(kind, pcm[: len(pcm) // 2 * 2])
        )
    ),
    st.sampled_from("0123456789*#ABCD").map(encode_dtmf),
    st.sampled_from([b"", b"\x01", b"\x02", b"\x04"]).map(lambda p: encode(Kind.ERROR, p)),
    st.just(HANGUP),
    st.uuids().map(encode_uuid),
)
# A header that lies: any kind, any length (up to 64 KiB), and a payload of whatever size.
_lying_packet = st.builds(
    lambda kind, length, payload: bytes([kind]) + length.to_bytes(2, "big") + payload,
    st.integers(0, 255),
    st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0, 1, 16, 320, 16384, 16385, 0xFFFF])),
    st.binary(max_size=128),
)
_streams = st.one_of(
    st.binary(max_size=4096),
    st.lists(st.one_of(_valid_packet, _lying_packet), max_size=12).map(b"".join),
    st.builds(
        lambda call, packets, tail: encode_uuid(call) + b"".join(packets) + tail,
        st.uuids(),
        st.lists(_valid_packet, max_size=12),
        st.one_of(st.just(b""), _lying_packet, st.binary(max_size=64)),
    ),
    # A valid stream cut short anywhere: a truncated header or payload.
    st.builds(
        lambda call, packets, cut: (encode_uuid(call) + b"".join(packets))[:cut],
        st.uuids(),
        st.lists(_valid_packet, max_size=6),
        st.integers(0, 4000),
    ),
)


def _send_stream(host: str, port: int, data: bytes, cuts: list[int], ending: str) -> None:
    """One fresh connection: `data` in pieces of `cuts` sizes, then the `ending`."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        offset, sizes = 0, iter(cuts or [len(data) or 1])
        try:
            while offset < len(data):
                size = next(sizes, len(data))
                sock.sendall(data[offset : offset + size])
                offset += size
            if ending == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif ending == "half-close":
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(0.3)
                while sock.recv(65536):
                    pass
        except (TimeoutError, OSError):
            pass  # the server may hang up before it has read it all: that is its right


def test_random_and_mutated_byte_streams_leave_the_server_serving_and_leak_nothing():
    server = start_server("--handshake-timeout", str(HANDSHAKE), "--idle-timeout", str(IDLE))
    tried: list[int] = []
    try:

        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(
            data=_streams,
            cuts=st.lists(st.integers(1, 512), max_size=10),
            ending=st.sampled_from(["close", "reset", "half-close"]),
        )
        def one_connection(data: bytes, cuts: list[int], ending: str) -> None:
            assert server.process.poll() is None, "the server died:\n" + server.log[-3000:]
            _send_stream(server.host, server.port, data, cuts, ending)
            tried.append(len(data))

        one_connection()
        assert len(tried) >= 60

        assert server.process.poll() is None, "the server died:\n" + server.log[-3000:]
        delay = asyncio.run(greeting_delay(server))
        # Greeted, and soon: how soon is the fuzzer's and the load runs' figure (loadtests/).
        assert delay < 10, f"a good call waited {delay:.1f} s for its greeting"
        asyncio.run(assert_no_connection_left(server, within=HANDSHAKE + IDLE + 10))
        assert "Traceback" not in server.log, server.log[-5000:]
        # Every call the streams started is recorded as ended, with the reason it ended.
        deadline = time.monotonic() + 10
        while Call.objects.exclude(status=CallStatus.ENDED).exists():
            assert time.monotonic() < deadline, "calls left in progress"
            time.sleep(0.2)
        assert not Call.objects.filter(end_reason="").exists()
    finally:
        server.stop()


# --- Slow loris ---------------------------------------------------------------------------------


async def _trickle(server: ServerProcess, data: bytes, every: float) -> tuple[float, bytes, int]:
    """Send `data` one byte every `every` seconds until the server hangs up. Returns the
    seconds it took the server to close, what it sent, and how many bytes it had by then."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    started = time.monotonic()
    closed = asyncio.ensure_future(read_until_closed(reader, timeout=60))
    sent = 0
    try:
        for byte in data:
            if closed.done():
                break
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                break
            sent += 1
            await asyncio.wait({closed}, timeout=every)
        received = await closed
        return time.monotonic() - started, received, sent
    finally:
        writer.close()


async def test_slow_loris_connections_are_all_closed_within_the_time_outs():
    handshake, idle = 2.0, 3.0
    server = start_server("--handshake-timeout", str(handshake), "--idle-timeout", str(idle))
    try:
        # 40 connections trickle their UUID packet a byte a second (19 bytes: 19 s if allowed),
        # 10 send a whole UUID, then trickle an audio packet the same way.
        uuid_trickles = [encode_uuid(uuid.uuid4()) for _ in range(40)]
        audio = encode_audio(b"\x01\x00" * 160, 8000)
        call_trickles = [encode_uuid(uuid.uuid4()) for _ in range(10)]

        async def call_then_trickle(first: bytes):
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(first + audio)  # a call under way...
            started = time.monotonic()
            closed = asyncio.ensure_future(read_until_closed(reader, timeout=60))
            try:
                for byte in audio * 3:  # ...then a byte a second, never a whole packet in time
                    if closed.done():
                        break
                    writer.write(bytes([byte]))
                    await asyncio.wait({closed}, timeout=1.0)
                await closed
                return time.monotonic() - started
            finally:
                writer.close()

        loris = asyncio.gather(
            *(_trickle(server, data, every=1.0) for data in uuid_trickles),
            *(call_then_trickle(first) for first in call_trickles),
        )
        await asyncio.sleep(0.5)
        delay = await greeting_delay(server)  # a good call placed while they hang on
        results = await loris

        # Not held up until the trickles end (19 s and more): greeted while they hang on.
        assert delay < 10, f"a good call waited {delay:.1f} s for its greeting"
        # The time-outs cut them, far sooner than the trickles would end (19 s for a UUID,
        # ~16 minutes for the audio), with room for a busy machine.
        for took, said, sent in results[:40]:
            assert took < handshake + 10, f"a slow UUID held its connection {took:.1f} s"
            assert said == HANGUP and sent < 19, "hung up before the UUID was complete"
        for took in results[40:]:
            assert took < idle + 15, f"a trickling call held its connection {took:.1f} s"
        for first in call_trickles:
            call = await ended_call(uuid.UUID(bytes=first[3:]))
            assert "idle time-out" in call.end_reason and call.outcome == CallOutcome.FAILED
        await assert_no_connection_left(server, within=5)
    finally:
        server.stop()


# --- A flood far above --max-calls --------------------------------------------------------------


async def test_a_flood_far_above_max_calls_is_turned_away_and_a_good_call_follows():
    handshake, idle = 2.0, 3.0
    # 300 connections open in the same instant: room for all of them to wait for their UUID
    # (the bound on such connections, --max-pending, has its own test in test_floods.py).
    server = start_server(
        "--max-calls",
        "10",
        "--max-pending",
        "400",
        "--handshake-timeout",
        str(handshake),
        "--idle-timeout",
        str(idle),
    )
    try:
        uuids = [uuid.uuid4() for _ in range(150)]

        async def flood_connection(call_uuid: uuid.UUID | None) -> tuple[float, bytes | None]:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            started = time.monotonic()
            try:
                if call_uuid is not None:
                    writer.write(encode_uuid(call_uuid) + encode_audio(bytes(320), 8000))
                received = await read_until_closed(reader, timeout=60)
            except TimeoutError:
                received = None  # never closed by the server: reported below, by kind
            finally:
                writer.close()
            return time.monotonic() - started, received

        # 300 at once: 150 say nothing, 150 send a UUID and one frame, then nothing.
        started = time.monotonic()
        results = await asyncio.gather(
            *(flood_connection(None) for _ in range(150)),
            *(flood_connection(call_uuid) for call_uuid in uuids),
        )
        flood_over = time.monotonic() - started

        assert server.process.poll() is None, "the server survived the flood"
        left_open = {
            "silent": sum(received is None for _, received in results[:150]),
            "with a UUID": sum(received is None for _, received in results[150:]),
        }
        assert not any(left_open.values()), (
            f"connections the server never closed (of 150 each): {left_open}",
            server.log[-5000:],
        )
        for took, received in results[:150]:
            assert received == HANGUP, "a silent connection is hung up at the handshake time-out"
            assert took < handshake + 20, took
        for took, received in results[150:]:
            assert received.endswith(HANGUP), "every caller is hung up, served or turned away"
            # Served and busy callers alike end at the idle time-out (they went silent).
            assert took < idle + 25, took
        assert flood_over < 55  # each connection would wait 60 s for a close that never came

        delay = await greeting_delay(server)
        assert delay < 10, f"the greeting's first frame came {delay:.2f} s after connecting"

        async def all_recorded_as_ended() -> bool:
            ended = Call.objects.filter(uuid__in=uuids, status=CallStatus.ENDED)
            return await ended.acount() == len(uuids)

        await wait_for(all_recorded_as_ended)  # every flood caller is recorded, with its end
        calls = {call.uuid: call async for call in Call.objects.filter(uuid__in=uuids)}
        assert len(calls) == 150, "every flood caller is recorded"
        busy = [call for call in calls.values() if call.end_reason.startswith("busy")]
        served = [call for call in calls.values() if not call.end_reason.startswith("busy")]
        assert busy, "callers above --max-calls got the busy handling"
        assert all(call.outcome == CallOutcome.FAILED for call in busy)
        # How many were served in all depends on how fast the flood arrives against the idle
        # time-out (on a busy machine, lines free up mid-flood); never more than --max-calls at
        # once. A call's started_at and ended_at lie inside the time it holds its line.
        assert served and _most_at_once(served) <= 10, [call.end_reason for call in served]
        await assert_no_connection_left(server, within=10)
        assert "Traceback" not in server.log, server.log[-5000:]
    finally:
        server.stop()


def _most_at_once(calls: list[Call]) -> int:
    """The most calls in progress at one moment (an end sorts before a start at a tie)."""
    events = sorted([(c.started_at, 1) for c in calls] + [(c.ended_at, -1) for c in calls])
    live = most = 0
    for _, step in events:
        live += step
        most = max(most, live)
    return most


# --- Broken packets mid-call --------------------------------------------------------------------


async def _call_with_turns(server: ServerProcess, digits: str) -> AudioSocketClient:
    """A call under way: greeted, and the caller has keyed `digits` (one turn each)."""
    client = await AudioSocketClient.connect(server.host, server.port)
    client.start_background_silence()
    await client.read_audio_response(silence_gap_ms=400, first_frame_timeout=30)
    for digit in digits:
        await client.send_dtmf(digit)

    async def recorded():
        rows = Turn.objects.filter(call__uuid=client.call_uuid, via=TurnInput.DTMF)
        return await rows.acount() == len(digits)

    await wait_for(recorded)
    await client.stop_background_silence()
    return client


async def _turns(call: Call) -> list[tuple[str, str]]:
    rows = Turn.objects.filter(call=call).order_by("sequence")
    return [(turn.role, turn.text) async for turn in rows]


async def test_oversize_and_truncated_packets_end_only_their_call_and_keep_its_turns():
    server = start_server("--handshake-timeout", "2", "--idle-timeout", "5")
    try:
        bystander = await AudioSocketClient.connect(server.host, server.port)
        bystander.start_background_silence()
        oversize = await _call_with_turns(server, "12")
        truncated = await _call_with_turns(server, "34")
        reset = await _call_with_turns(server, "56")

        # A length far over the limit (16 KiB) with a little of its payload.
        await oversize.send_raw(bytes([Kind.AUDIO_8K]) + (0xFFFE).to_bytes(2, "big") + bytes(500))
        # Half a packet, then the connection closes.
        await truncated.send_raw(encode_audio(bytes(320), 8000)[:150])
        await truncated.close()
        # Half a packet, then a reset.
        await reset.send_raw(encode_audio(bytes(320), 8000)[:150])
        _abort(reset.writer)

        await oversize.wait_closed(timeout=30)
        assert oversize.received_hangup, "the server hangs up on a protocol error"
        call = await ended_call(oversize.call_uuid)
        assert call.outcome == CallOutcome.FAILED
        assert call.end_reason == (
            "protocol error: packet payload of 65534 bytes exceeds the limit of 16384"
        )
        turns = await _turns(call)
        assert turns[0][0] == TurnRole.BOT, "the greeting is kept"
        assert [text for role, text in turns if role == TurnRole.CALLER] == ["1", "2"]

        for client, digits in ((truncated, ["3", "4"]), (reset, ["5", "6"])):
            call = await ended_call(client.call_uuid)
            assert call.end_reason.startswith("connection closed by Asterisk"), call.end_reason
            assert call.outcome == CallOutcome.ABANDONED
            turns = await _turns(call)
            assert turns[0][0] == TurnRole.BOT
            assert [text for role, text in turns if role == TurnRole.CALLER] == digits

        # The call in progress alongside carried on: a frame every 20 ms, then a normal end.
        frames = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            packet = await bystander.read_packet(timeout=2)
            assert packet.is_audio, f"the bystander got {packet.kind.name}"
            frames += 1
        assert frames >= 40
        await bystander.hangup()
        assert (await ended_call(bystander.call_uuid)).end_reason == "caller hung up"
        await assert_no_connection_left(server, within=5)
        assert "Traceback" not in server.log, server.log[-5000:]
    finally:
        server.stop()
