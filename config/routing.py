"""Websocket routes of every app, gathered for asgi.py."""

from analytics.routing import websocket_urlpatterns as analytics_websockets

websocket_urlpatterns = [*analytics_websockets]
