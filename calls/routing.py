"""Websocket routes of the calls app (the staff's live calls monitor)."""

from django.urls import path

from .consumers import LiveCallsConsumer

websocket_urlpatterns = [
    path("ws/live-calls/", LiveCallsConsumer.as_asgi(), name="ws-live-calls"),
]
