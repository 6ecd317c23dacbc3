"""Websocket routes of the calls app (the staff's live calls monitor)."""

websocket_urlpatterns: list = []
