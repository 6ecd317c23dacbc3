"""Websocket routes of the calls app (the staff's live calls monitor, the admin's test calls)."""

from django.urls import path

from .consumers import LiveCallsConsumer
from .testcall.consumer import TestCallConsumer

websocket_urlpatterns = [
    path("ws/live-calls/", LiveCallsConsumer.as_asgi(), name="ws-live-calls"),
    path("ws/test-call/", TestCallConsumer.as_asgi(), name="ws-test-call"),
]
