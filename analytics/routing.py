"""Websocket routes of analytics (the live node counts of a journey)."""

from django.urls import path

from .consumers import JourneyCountsConsumer

websocket_urlpatterns = [
    path("ws/journeys/<int:journey_id>/", JourneyCountsConsumer.as_asgi(), name="ws-journey-counts"),
]
