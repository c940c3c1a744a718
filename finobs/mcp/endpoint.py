"""/mcp inside finobs' ASGI application: the SDK's Streamable HTTP app, behind the API-key check.

The SDK's app serves its sessions from a task group that its session manager opens in `run()`, which it
expects the ASGI lifespan protocol to enter at start-up. daphne (and Django's ASGI handler) never run
lifespan, so `McpEndpoint` enters `run()` itself on the first request, in a task of its own that lives as
long as the event loop (the process), and every request waits for it to be running. A loop of its own
gets a manager of its own: a manager runs once, on one loop (tests start servers one after another).

The transport is stateless with JSON responses: each POST is answered on its own, so any web process
behind the load balancer may answer any call, and no stream stays open between calls (the tools neither
notify nor ask the client anything). DNS-rebinding protection (Host and Origin) takes its allow-list from
ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS.
"""

import asyncio
import logging
from urllib.parse import urlsplit

from django.conf import settings
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.middleware.authentication import AuthenticationMiddleware

from finobs.handlers import application_path, counted_in_flight
from finobs.mcp.auth import MCP_SCOPE, ApiKeyVerifier
from finobs.mcp.registry import tools

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "finobs scores financial transactions for fraud and money-laundering risk and manages the cases analysts "
    "work. Use score_transaction or batch_score for what-ifs (nothing is stored), ingest_transactions to submit "
    "transactions for real (stored, may open cases), explain_transaction for why a stored transaction scored as "
    "it did, portfolio_risk for risk over a period, list_cases and get_case to browse cases, drift_status and "
    "model_leaderboard for the model's health. You see the transactions and cases of your API key's source only."
)


def mcp_server() -> MCPServer:
    """The MCP server with every registered tool (tools/ registers them on import)."""
    import finobs.mcp.tools  # noqa: F401  (registers the tools)

    server = MCPServer("finobs", title="finobs", instructions=INSTRUCTIONS, version="1")
    tools.install(server)
    return server


def transport_security() -> TransportSecuritySettings:
    """Host and Origin allow-lists for the SDK from ALLOWED_HOSTS (any port) and CSRF_TRUSTED_ORIGINS.

    ALLOWED_HOSTS "*" accepts every host, as Django does; an entry ".example.com" allows example.com (the SDK
    matches names exactly: list the subdomains that serve /mcp by name).
    """
    if "*" in settings.ALLOWED_HOSTS:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts, origins = [], []
    for entry in settings.ALLOWED_HOSTS:
        name = entry.lstrip(".")
        host = f"[{name}]" if ":" in name else name  # an IPv6 address, as it appears in Host
        hosts += [host, f"{host}:*"]
        origins += [f"{scheme}://{host}{port}" for scheme in ("http", "https") for port in ("", ":*")]
    for origin in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in urlsplit(origin).netloc:
            origins.append(origin)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


class McpEndpoint:
    """ASGI app for /mcp; starts the SDK's session manager on first use (see the module)."""

    def __init__(self):
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app = None
        self._running: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._start(loop)  # no await since the check: one start per loop, however many requests arrive
        await self._running.wait()
        await self._app(scope, receive, send)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        server = mcp_server()
        starlette_app = server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=transport_security(),
        )
        self._loop = loop
        self._running = asyncio.Event()
        self._app = AuthenticationMiddleware(
            AuthContextMiddleware(RequireAuthMiddleware(starlette_app, required_scopes=[MCP_SCOPE])),
            backend=BearerAuthBackend(ApiKeyVerifier()),
        )
        self._task = loop.create_task(self._serve(server.session_manager, self._running), name="mcp-sessions")

    @staticmethod
    async def _serve(manager, running: asyncio.Event) -> None:
        async with manager.run():
            running.set()
            logger.info("MCP session manager running")
            await asyncio.Event().wait()  # for the loop's life


def with_mcp(http_application):
    """finobs' HTTP application with /mcp answered by the MCP endpoint."""
    endpoint = McpEndpoint()

    async def application(scope, receive, send):
        if application_path(scope) == MCP_PATH:
            with counted_in_flight():  # on SIGTERM, daphne answers the calls in flight first (finobs.daphne)
                await endpoint(scope, receive, send)
        else:
            await http_application(scope, receive, send)

    return application
