"""ASGI entry point: Django for HTTP, Channels for WebSockets (served by daphne)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")
# A request runs in a thread of its own: connections come from a pool (see DATABASE_POOL_MAX in settings).
os.environ.setdefault("DATABASE_POOL_MAX", "20")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from finobs.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Import every view (and numpy, onnxruntime, scikit-learn... behind them) now, then keep all of it out of
# the cyclic collector's full passes: it lives as long as the process, and a full pass walking it ran
# in whichever request triggered it.
get_resolver().url_patterns  # noqa: B018 (evaluated for its imports)
gc.freeze()
