"""WebSocket /ws/decisions/: the live decision feed for the workspace, with filters and replay.

Query string: `flagged_only=true`, `min_risk_level=HIGH`, `last_event_id=<id>` (replay what was
missed). Each message is `{"id": <outbox id>, "type": "decision.created", "data": {...}}`. Relay
hints wake the reader, which reads the outbox (delivery.feed); it also polls, so a lost hint
only delays. Invalid parameters close the socket with code 4400.
"""

import asyncio
import contextlib
import logging
from dataclasses import replace
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError

from delivery.feed import FeedFilters, FeedParameterError, FeedReader, parse_last_event_id

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_INVALID = 4400


class DecisionsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes new decisions (matching the socket's filters) to users with scoring.view_live_decisions."""

    async def connect(self):
        self.reader = None
        self.poller = None
        user = self.scope.get("user")
        organisation = self.scope.get("organisation")
        if (
            user is None
            or not user.is_authenticated
            or getattr(organisation, "pk", None) is None
            or not await self._may_view(user)
        ):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        query = dict(parse_qsl(self.scope.get("query_string", b"").decode()))
        try:
            filters = replace(FeedFilters.from_query(query), organisation_id=organisation.pk, viewer=user)
            last_event_id = parse_last_event_id(query.get("last_event_id"))
        except FeedParameterError:
            await self.close(code=CLOSE_INVALID)
            return
        self.reader = FeedReader(filters=filters)
        await self.reader.start(last_event_id=last_event_id)
        await self.channel_layer.group_add(self.reader.group, self.channel_name)
        await self.accept()
        await self._send_new_events()  # the replay, if a last_event_id was given
        self.poller = asyncio.create_task(self._poll())

    async def disconnect(self, code):
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        if self.reader is not None:
            await self.channel_layer.group_discard(self.reader.group, self.channel_name)

    async def decisions_published(self, message):
        if self.reader is not None and self.reader.wants(message):
            await self._send_new_events()

    async def _poll(self):
        while True:
            await asyncio.sleep(settings.STREAM_POLL_S)
            await self._send_new_events()

    async def _send_new_events(self):
        try:
            while events := await self.reader.read():
                for event in events:
                    await self.send_json(event)
        except DatabaseError:  # the database is restarting, or busy: the cursor is kept, the poll reads again
            logger.warning("ws decisions: reading the outbox failed; retrying", exc_info=True)

    @staticmethod
    async def _may_view(user) -> bool:
        return await database_sync_to_async(user.has_perm)("scoring.view_live_decisions")
