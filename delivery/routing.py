"""delivery's WebSocket routes: the live decision feed."""

from django.urls import path

from delivery.consumers import DecisionsConsumer

websocket_urlpatterns = [
    path("ws/decisions/", DecisionsConsumer.as_asgi()),
]
