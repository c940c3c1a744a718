"""cases' WebSocket routes (the workspace's live updates)."""

from django.urls import path

from cases.consumers import CasesConsumer

websocket_urlpatterns = [
    path("ws/cases/", CasesConsumer.as_asgi()),
    path("ws/cases/<str:reference>/", CasesConsumer.as_asgi()),
]
