"""The project's wiring: the channel layer, the Celery app and the ASGI router."""

import uuid

from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator

from callcenter.asgi import application
from callcenter.celery import app as celery_app


async def test_the_configured_channel_layer_delivers_a_group_message():
    # In-memory on the embedded defaults, channels_redis when REDIS_URL is set: both must work.
    layer = get_channel_layer()
    group = f"test-{uuid.uuid4().hex}"
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "call.turn", "text": "205/55 R16"})
    assert await layer.receive(channel) == {"type": "call.turn", "text": "205/55 R16"}
    await layer.group_discard(group, channel)


def test_celery_is_configured_from_django_settings(settings):
    assert celery_app.conf.broker_url == settings.CELERY_BROKER_URL
    # (task_always_eager is forced on in the test process by tests/conftest.py.)
    assert celery_app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT


async def test_the_asgi_router_serves_django_over_http():
    communicator = HttpCommunicator(application, "GET", "/", headers=[(b"host", b"localhost")])
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 302
    assert (b"Location", b"/admin/") in response["headers"]
