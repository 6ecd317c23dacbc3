"""The live publisher stops when asked, even when the channel layer swallows the cancellation
of a send in flight (redis-py does, for a command cancelled mid-way): a server's shutdown must
never wait on it forever."""

import asyncio

from channels.layers import get_channel_layer

from calls.live import LivePublisher


async def test_closing_while_events_are_being_sent_always_ends():
    # On Redis about half the cancellations that land inside group_send were swallowed, and
    # close() then waited forever; many rounds make a hang before the fix all but certain.
    layer = get_channel_layer()
    for round_ in range(40):
        publisher = LivePublisher(layer=layer)
        publisher.start()
        for n in range(50):
            publisher.publish({"round": round_, "n": n})
        await asyncio.sleep(0.002 * (round_ % 5))  # close at different points of a send
        sender = publisher._task
        closing = asyncio.ensure_future(publisher.close(timeout=0))
        # Waited for from outside: a close that swallowed our own cancellation would hang us.
        done, _ = await asyncio.wait({closing}, timeout=30)  # generous: only a hang exceeds it
        assert closing in done, f"close() still waiting after 30 s (round {round_})"
        closing.result()
        assert sender is not None and sender.done()


async def test_what_is_queued_is_sent_before_the_publisher_closes():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("closing-test", channel)
    publisher = LivePublisher(layer=layer, group="closing-test")
    publisher.start()
    for n in range(3):
        publisher.publish({"n": n})
    await publisher.close(timeout=10)
    received = [(await layer.receive(channel))["event"]["n"] for _ in range(3)]
    assert received == [0, 1, 2]
    await layer.group_discard("closing-test", channel)
