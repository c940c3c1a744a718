"""Who calls the MCP server: an API key as a Bearer token, checked as the REST API checks it.

The SDK's bearer middleware asks `ApiKeyVerifier` for the token's scopes and answers a request without a
valid key 401, and one whose key lacks the `mcp` scope 403, each with the `WWW-Authenticate: Bearer
error=...` challenge the MCP authorization spec (RFC 6750) prescribes. A tool reads its caller with `key_of`.
"""

from django.utils import timezone
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from apikeys.authentication import KEY_BEGINNING, InvalidApiKey, api_key_check
from apikeys.models import ApiKey
from apikeys.services.keys import api_key_mark_used
from finobs.mcp.threads import on_worker_thread
from organisations.context import organisation_context

MCP_SCOPE = ApiKey.Scope.MCP.value


class ApiKeyVerifier:
    """The SDK's TokenVerifier for finobs API keys (`fo_…`): the key's prefix is the client id, its scopes the
    token's; an unknown, revoked or expired key, or one of an inactive organisation, is no token."""

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token.startswith(KEY_BEGINNING):
            return None
        key = await on_worker_thread(_checked_key, token)
        if key is None:
            return None
        return AccessToken(
            token=key.prefix,  # the secret is not kept past the check
            client_id=key.prefix,
            scopes=list(key.scopes),
            expires_at=int(key.expires_at.timestamp()) if key.expires_at else None,
            claims={"api_key": key},
        )


def _checked_key(raw: str) -> ApiKey | None:
    try:
        key = api_key_check(raw)
    except InvalidApiKey:
        return None
    with organisation_context(key.organisation):
        api_key_mark_used(key=key, now=timezone.now())
    return key


def key_of(ctx: Context) -> ApiKey:
    """The API key that made the request a tool call arrived in."""
    request = ctx.request_context.request
    user = request.scope.get("user") if request is not None else None
    if not isinstance(user, AuthenticatedUser):
        raise ToolError("This call carries no API key.")  # the endpoint refuses such requests before any tool
    return user.access_token.claims["api_key"]
