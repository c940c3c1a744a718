"""ingestion's WebSocket routes."""

from django.urls import path

from ingestion.consumers import DecisionsConsumer

websocket_urlpatterns = [
    path("ws/decisions/", DecisionsConsumer.as_asgi()),
]
