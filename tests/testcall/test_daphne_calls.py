"""Test calls through a real Daphne, as the admin's page places them: a text chat through to a
sandbox order, and a voice call whose greeting comes back as audio frames, its engines loaded
in Daphne's own process."""

import asyncio
import json

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from calls.models import Call
from orders.models import Order

from .conftest import PATH, make_user, session_cookie
from .test_text_mode import ORDER_DIALOGUE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def _permitted_cookie() -> str:
    return session_cookie(make_user())


async def _open(web) -> ClientConnection:
    """The page's socket: the staff member's session cookie and the site's own Origin."""
    cookie = await asyncio.to_thread(_permitted_cookie)
    return await connect(
        f"ws://{web.host}:{web.port}{PATH}",
        additional_headers={"Cookie": cookie},
        origin=f"http://{web.host}:{web.port}",
        max_size=None,
    )


async def _send(socket: ClientConnection, message: dict) -> None:
    await socket.send(json.dumps(message))


async def _until(socket: ClientConnection, kind: str, timeout: float = 60) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            try:
                message = await socket.recv()
            except ConnectionClosed as closed:
                raise AssertionError(f"closed ({closed.rcvd}) before {kind}") from None
            if isinstance(message, str) and json.loads(message)["type"] == kind:
                return json.loads(message)


async def test_a_text_chat_through_daphne_places_a_sandbox_order(web, shop):
    socket = await _open(web)
    await _send(socket, {"type": "start", "mode": "text", "language": "en"})
    started = await _until(socket, "started", timeout=120)
    for text in ORDER_DIALOGUE:
        await _send(socket, {"type": "text", "text": text})
        await _until(socket, "understood")
    await _send(socket, {"type": "hangup"})
    ended = await _until(socket, "ended")
    async with asyncio.timeout(10):
        await socket.wait_closed()
    assert socket.close_code == 1000, "the server closed the socket normally"
    assert len(ended["orders"]) == 1 and ended["sandbox"]
    order = await asyncio.to_thread(Order.objects.get, number=ended["orders"][0])
    assert order.sandbox
    call = await asyncio.to_thread(Call.objects.get, uuid=started["call"])
    assert call.is_test


async def test_a_voice_call_through_daphne_greets_in_audio(web, shop):
    socket = await _open(web)
    await _send(socket, {"type": "start", "mode": "voice", "sample_rate": 16000})
    await _until(socket, "started", timeout=120)
    silence = bytes(640)
    audio = bytearray()

    async def microphone() -> None:
        while True:
            await socket.send(silence)
            await asyncio.sleep(0.02)

    mic = asyncio.create_task(microphone())
    try:
        async with asyncio.timeout(120):
            while True:
                message = await socket.recv()
                if isinstance(message, bytes):
                    audio += message
                elif json.loads(message)["type"] == "turn":
                    greeting = json.loads(message)
                    break
    finally:
        mic.cancel()
    await _send(socket, {"type": "hangup"})
    ended = await _until(socket, "ended")
    await socket.close()
    assert greeting["role"] == "bot" and "help" in greeting["text"].lower()
    seconds = len(audio) / 2 / 16000
    assert seconds > 1.0 and np.abs(np.frombuffer(bytes(audio), "<i2")).max() > 1000
    assert ended["reason"] == "caller hung up"
