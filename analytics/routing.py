"""Websocket routes of analytics (the live node counts of a journey)."""

websocket_urlpatterns: list = []
