"""WebSocket routes: each app contributes its own."""

from cases.routing import websocket_urlpatterns as cases_websockets
from delivery.routing import websocket_urlpatterns as delivery_websockets

websocket_urlpatterns = [*delivery_websockets, *cases_websockets]
