"""WebSocket routes: each app contributes its own."""

from cases.routing import websocket_urlpatterns as cases_websockets
from delivery.routing import websocket_urlpatterns as delivery_websockets
from notifications.routing import websocket_urlpatterns as notifications_websockets

websocket_urlpatterns = [*delivery_websockets, *cases_websockets, *notifications_websockets]
