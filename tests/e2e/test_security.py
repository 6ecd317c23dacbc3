"""The allow-lists, end to end. The AudioSocket peer allow-list: with AUDIOSOCKET_ALLOWED_PEERS
naming one host, a connection from a neighbouring address is refused before any call exists and
the log says who and why, while the named host is served by the same process. The web process,
started with the Daphne options of docker-compose.yml: a forged X-Forwarded-For does not get an
outsider past the dialplan's and /metrics' allow-lists; only TRUSTED_PROXIES are believed.

Linux routes all of 127.0.0.0/8 to loopback, so a client socket bound to 127.0.0.2 is a second
host for the server without any network set-up. (tests/e2e/test_server_protocol.py covers the
--allow option refusing 127.0.0.1; this covers the setting, and refused and served side by side.)
"""

import asyncio
import http.client
import socket
import time
import uuid
from pathlib import Path

import pytest
import yaml

from calls.audiosocket.protocol import encode_uuid
from calls.models import Call
from tests.helpers.audiosocket_client import AudioSocketClient
from tests.helpers.server_process import launch, start_server
from tests.helpers.web_process import READY

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


# --- The web process as docker-compose runs it, behind a proxy ----------------------------------

PROXY = "127.0.0.3"
COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _compose_web_flags() -> list[str]:
    """The Daphne options the shipped docker-compose.yml gives the web service, less the
    address and the application (the test binds its own port)."""
    command = yaml.safe_load(COMPOSE.read_text())["services"]["web"]["command"]
    assert command[0] == "daphne", command
    flags, rest = [], iter(command[1:])
    for arg in rest:
        if arg in ("--bind", "--port", "-b", "-p"):
            next(rest)
        elif not arg.endswith(":application"):
            flags.append(arg)
    return flags


@pytest.fixture
def web():
    for address in (INTRUDER, PROXY):
        if not _can_bind(address):
            pytest.skip(f"{address} is not a loopback address here (not Linux?)")
    command = ["-m", "daphne", "--bind", "127.0.0.1", "--port", "0", *_compose_web_flags()]
    env = {
        "AUDIOSOCKET_ALLOWED_PEERS": f"{ASTERISK}/32",
        "METRICS_ALLOWED_NETWORKS": f"{ASTERISK}/32",
        "TRUSTED_PROXIES": f"{PROXY}/32",
    }
    process = launch([*command, "callcenter.asgi:application"], READY, env)
    yield process
    process.stop()


def _status(web, path: str, source: str, forwarded: str) -> int:
    connection = http.client.HTTPConnection(
        web.host, web.port, timeout=30, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers={"X-Forwarded-For": forwarded, "Host": "localhost"})
        return connection.getresponse().status
    finally:
        connection.close()


ROUTE = f"/calls/{uuid.UUID(int=1)}/route"


async def test_a_forged_forwarded_for_does_not_pass_the_allow_lists_of_the_web_process(web):
    """The review's finding: with `daphne --proxy-headers` an outsider sending
    `X-Forwarded-For: 127.0.0.1` reached the dialplan's endpoints and /metrics."""
    for path in (ROUTE, "/metrics"):
        status = await asyncio.to_thread(_status, web, path, INTRUDER, ASTERISK)
        assert status == 403, f"{path}: a forged header from {INTRUDER} got {status}"
        # Behind the trusted proxy, the client's own forgery left of the proxy's entry is ignored.
        status = await asyncio.to_thread(_status, web, path, PROXY, f"{ASTERISK}, {INTRUDER}")
        assert status == 403, f"{path}: a forgery relayed by the proxy got {status}"


async def test_the_trusted_proxy_vouches_for_the_asterisk_host(web):
    assert await asyncio.to_thread(_status, web, ROUTE, PROXY, ASTERISK) == 404  # in; no call
    assert await asyncio.to_thread(_status, web, "/metrics", PROXY, ASTERISK) == 200
