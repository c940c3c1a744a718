"""cases' WebSocket routes (the workspace's live updates)."""

websocket_urlpatterns: list = []
