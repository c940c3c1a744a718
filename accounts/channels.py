"""WebSockets authenticated by a person's access token, for clients without a session (scripts, apps).

Two ways, never the query string (it ends up in logs):

- the subprotocols `finobs.bearer, <access token>` (`Sec-WebSocket-Protocol`): checked at the handshake,
  which the server answers with `finobs.bearer` alone;
- the first message: a connection without a session is accepted and has WS_AUTHENTICATE_TIMEOUT_S to send
  `{"type": "authenticate", "token": "<access token>"}`; the answer is `{"type": "authenticated", …}`.

Either way the socket then runs as the token's person in the token's organisation (`scope["user"]`,
`scope["organisation"]`, and the context set around it by organisations.channels). When the token expires
the socket is closed with 4401 unless the client sent a fresh one in an `authenticate` message before. A
token refused (invalid, expired, not the person's organisation any more) or none in time: closed with 4401.
A connection with a session is left as it is.
"""

import asyncio
import json
import time

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.tokens import BEARER_SUBPROTOCOL, TokenRefused, person_for_access_token

CLOSE_UNAUTHENTICATED = 4401


def _authenticated_person(raw) -> tuple:
    """(user, organisation, expires_at) of a raw access token; TokenRefused otherwise."""
    if not isinstance(raw, str) or not raw:
        raise TokenRefused("not_authenticated", "Send an access token.")
    user, organisation, token = person_for_access_token(raw)
    return user, organisation, float(token["exp"])


authenticated_person = database_sync_to_async(_authenticated_person)


def token_in(message: dict) -> str | None:
    """The token of an `{"type": "authenticate", "token": …}` text frame, or None if it is not one."""
    try:
        content = json.loads(message.get("text") or "")
    except ValueError:
        return None
    if isinstance(content, dict) and content.get("type") == "authenticate":
        return content.get("token") if isinstance(content.get("token"), str) else ""
    return None


class BearerTokenMiddleware:
    """Between Channels' AuthMiddlewareStack (sessions) and organisations.channels.OrganisationScopeMiddleware."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        offered = list(scope.get("subprotocols") or ())
        if BEARER_SUBPROTOCOL in offered:
            return await self._by_subprotocol(scope, receive, send, offered)
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            return await self.inner(scope, receive, send)
        return await self._by_first_message(scope, receive, send)

    async def _by_subprotocol(self, scope, receive, send, offered: list[str]):
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        following = offered.index(BEARER_SUBPROTOCOL) + 1
        try:
            person = await authenticated_person(offered[following] if following < len(offered) else None)
        except TokenRefused:
            # Accepted then closed, so the client sees why (a refused handshake tells it nothing).
            await send({"type": "websocket.accept", "subprotocol": BEARER_SUBPROTOCOL})
            await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
            return

        async def send_choosing_the_subprotocol(message):
            if message["type"] == "websocket.accept":
                message = {**message, "subprotocol": BEARER_SUBPROTOCOL}
            await send(message)

        # The token leaves the scope: nothing downstream (consumers, traces) sees it.
        scope = dict(scope, subprotocols=[BEARER_SUBPROTOCOL])
        await _serve(self.inner, scope, connect, receive, send_choosing_the_subprotocol, person)

    async def _by_first_message(self, scope, receive, send):
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        try:
            first = await asyncio.wait_for(receive(), timeout=settings.WS_AUTHENTICATE_TIMEOUT_S)
        except TimeoutError:
            await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
            return
        if first["type"] != "websocket.receive":
            return  # the client left
        try:
            person = await authenticated_person(token_in(first))
        except TokenRefused:
            await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
            return

        async def send_once_accepted(message):
            if message["type"] == "websocket.accept":  # accepted already: say who the socket now runs as
                user, organisation, expires_at = person
                message = {"type": "websocket.send", "text": _authenticated(user, organisation, expires_at)}
            await send(message)

        await _serve(self.inner, scope, connect, receive, send_once_accepted, person)


async def _serve(inner, scope, connect, receive, send, person):
    """Run the consumer as `person` (user, organisation, expires_at) until the socket closes, or the token expires
    without a fresh one from the client (`authenticate` messages, which the consumer never sees)."""
    user, organisation, expires_at = person
    deadline = {"at": expires_at}
    replayed = False

    async def receive_until_expiry():
        nonlocal replayed
        if not replayed:
            replayed = True
            return connect
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline["at"] - time.time()))
            except TimeoutError:
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
                return {"type": "websocket.disconnect", "code": CLOSE_UNAUTHENTICATED}
            raw = token_in(message) if message["type"] == "websocket.receive" else None
            if raw is None:
                return message
            try:
                renewed_user, renewed_organisation, renewed_at = await authenticated_person(raw)
            except TokenRefused:
                renewed_user = None
            if renewed_user is None or (renewed_user.pk, renewed_organisation.pk) != (user.pk, organisation.pk):
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
                return {"type": "websocket.disconnect", "code": CLOSE_UNAUTHENTICATED}
            deadline["at"] = renewed_at
            await send({"type": "websocket.send", "text": _authenticated(user, organisation, renewed_at)})

    scope = dict(scope, user=user, organisation=organisation)
    return await inner(scope, receive_until_expiry, send)


def _authenticated(user, organisation, expires_at: float) -> str:
    return json.dumps(
        {
            "type": "authenticated",
            "username": user.get_username(),
            "organisation": organisation.slug,
            "expires_at": int(expires_at),
        }
    )
