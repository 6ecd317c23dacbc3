"""A quiet live monitor on Redis stays connected: channels_redis waits for a socket's messages
with a 5 s BZPOPMIN, and redis-py's default 5 s read time-out must not cut that wait short (it
did: the consumer failed and the page's socket closed every five quiet seconds)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from .test_live_monitor import _socket, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# channels_redis's BZPOPMIN wait, and a little more: a quiet socket has waited through one.
QUIET_SECONDS = 7


async def test_a_quiet_monitor_socket_outlives_the_layer_s_blocking_wait():
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        pytest.skip("the blocking wait is channels_redis's (REDIS_URL)")
    user = await database_sync_to_async(make_user)()
    communicator = await _socket(user)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=10)
    assert snapshot["kind"] == "snapshot"
    await asyncio.sleep(QUIET_SECONDS)
    # Still serving: a failed consumer would raise here instead of timing out quietly.
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()
