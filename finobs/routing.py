"""WebSocket routes: each app contributes its own."""

from cases.routing import websocket_urlpatterns as cases_websockets
from ingestion.routing import websocket_urlpatterns as ingestion_websockets

websocket_urlpatterns = [*ingestion_websockets, *cases_websockets]
