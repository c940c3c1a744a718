"""ASGI entry point: Django for HTTP, the MCP server at /mcp, Channels for WebSockets (served by daphne)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")
# Requests run on a pool of WEB_THREADS threads (finobs.handlers); their database connections come from a
# pool of DATABASE_POOL_MAX (see settings), more than the threads: async views (the SSE feed) take
# connections from their own threads.
os.environ.setdefault("DATABASE_POOL_MAX", "24")
WEB_THREADS = int(os.environ.get("WEB_THREADS", "16"))
django_application = get_asgi_application()  # django.setup()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.channels import BearerTokenMiddleware  # noqa: E402
from finobs import daphne  # noqa: E402
from finobs.handlers import asgi_http_application  # noqa: E402
from finobs.mcp.endpoint import with_mcp  # noqa: E402
from finobs.routing import websocket_urlpatterns  # noqa: E402
from finobs.telemetry import traced_websockets  # noqa: E402
from kernel.switches import device_off  # noqa: E402
from organisations.channels import OrganisationScopeMiddleware  # noqa: E402

if not device_off("DAPHNE_PATCH"):
    daphne.install()  # form bodies are Django's to parse, not the event loop's
daphne.install_drain()  # on SIGTERM, answer the requests in flight before stopping
application = ProtocolTypeRouter(
    {
        # /mcp: the MCP server (finobs.mcp). FINOBS_NO_POOLED_HANDLER=1: Django's own handler for every other request.
        "http": with_mcp(
            django_application if device_off("POOLED_HANDLER") else asgi_http_application(threads=WEB_THREADS)
        ),
        "websocket": traced_websockets(
            AllowedHostsOriginValidator(
                # A session (cookie), or else a person's access token; then the organisation either decides.
                AuthMiddlewareStack(
                    BearerTokenMiddleware(OrganisationScopeMiddleware(URLRouter(websocket_urlpatterns)))
                )
            )
        ),
    }
)
