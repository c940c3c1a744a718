"""WebSocket connections run in their organisation, decided by the same code as HTTP requests."""

from channels.db import database_sync_to_async

from organisations.context import organisation_context
from organisations.selectors import organisation_of


class OrganisationScopeMiddleware:
    """Sets `scope["organisation"]` from the signed-in person (after Channels' AuthMiddleware), unless the
    connection came with one: an access token's, checked against its person's membership
    (accounts.channels). Each handler then runs in it."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        organisation = scope.get("organisation")
        if organisation is None:
            user = scope.get("user")
            session = scope.get("session")
            organisation = await database_sync_to_async(organisation_of)(user, session) if user is not None else None
            scope = dict(scope, organisation=organisation)
        with organisation_context(organisation):
            return await self.inner(scope, receive, send)
