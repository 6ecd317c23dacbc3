"""The AudioSocket peer allow-list, end to end: with AUDIOSOCKET_ALLOWED_PEERS naming one host,
a connection from a neighbouring address is refused before any call exists and the log says
who and why, while the named host is served by the same process.

Linux routes all of 127.0.0.0/8 to loopback, so a client socket bound to 127.0.0.2 is a second
host for the server without any network set-up. (tests/e2e/test_server_protocol.py covers the
--allow option refusing 127.0.0.1; this covers the setting, and refused and served side by side.)
"""

import asyncio
import socket
import time
import uuid

import pytest

from calls.audiosocket.protocol import encode_uuid
from calls.models import Call
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.server_process import start_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ASTERISK = "127.0.0.1"
INTRUDER = "127.0.0.2"


def _can_bind(address: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


@pytest.fixture
def server():
    if not _can_bind(INTRUDER):
        pytest.skip(f"{INTRUDER} is not a loopback address here (not Linux?)")
    process = start_server(env={"AUDIOSOCKET_ALLOWED_PEERS": f"{ASTERISK}/32"})
    yield process
    process.stop()


async def _wait_for_log(server, text: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in the server's log:\n{server.log}")
        await asyncio.sleep(0.05)


async def test_a_peer_outside_the_setting_is_refused_and_named_while_asterisk_is_served(server):
    intruder_uuid = uuid.uuid4()
    reader, writer = await asyncio.open_connection(
        server.host, server.port, local_addr=(INTRUDER, 0)
    )
    intruder_address, intruder_port = writer.get_extra_info("sockname")[:2]
    assert intruder_address == INTRUDER
    writer.write(encode_uuid(intruder_uuid))
    try:
        said = await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        said = b""
    writer.close()
    assert said == b"", "closed without a word: not even a hang-up packet"
    await _wait_for_log(server, f"refused a connection from ('{INTRUDER}', {intruder_port})")
    assert "not in the allowed peers" in server.log

    caller = await AudioSocketClient.connect(server.host, server.port)
    try:
        caller.start_background_silence()
        packet = await caller.read_packet(timeout=5)
        assert packet.is_audio, "Asterisk's address is answered with audio"
    finally:
        await caller.hangup()

    deadline = time.monotonic() + 10
    while not await Call.objects.filter(uuid=caller.call_uuid).aexists():
        assert time.monotonic() < deadline, "the served call was never recorded"
        await asyncio.sleep(0.1)
    assert not await Call.objects.filter(uuid=intruder_uuid).aexists()
    assert f"refused a connection from ('{ASTERISK}'" not in server.log
