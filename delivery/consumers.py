"""WebSocket /ws/decisions/: the live decision feed for the workspace, with filters and replay.

Query string: `flagged_only=true`, `min_risk_level=HIGH`, `last_event_id=<id>` (replay what was
missed). Each message is `{"id": <outbox id>, "type": "decision.created", "data": {...}}`. Relay
hints wake the reader, which reads the outbox (delivery.feed); it also polls, so a lost hint
only delays. Invalid parameters close the socket with code 4400.

Without Redis (the channel layer) the socket is accepted all the same and delivers by polling alone, every
STREAM_POLL_S; the poll joins the hints' group again once Redis answers.
"""

import asyncio
import contextlib
import logging
from dataclasses import replace
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.db import DatabaseError
from redis.exceptions import RedisError

from delivery.feed import FeedFilters, FeedParameterError, FeedReader, parse_last_event_id

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_INVALID = 4400

# What an unreachable channel layer raises (channels-redis: redis-py's errors, or the socket's own).
LAYER_ERRORS = (RedisError, OSError)


class DecisionsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes new decisions (matching the socket's filters) to users with scoring.view_live_decisions."""

    async def __call__(self, scope, receive, send):
        """Channels' AsyncConsumer.__call__, with the channel layer's receive not fatal to the socket: a
        layer that does not answer leaves the socket to its poll (see the module)."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await self.channel_layer.new_channel()  # a name only: no call to Redis
        self.channel_receive = self._receive_hint
        self.base_send = send
        self.hints_joined = False
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive, self.channel_receive], self.dispatch)

    async def _receive_hint(self):
        while True:
            if self.hints_joined:
                try:
                    return await self.channel_layer.receive(self.channel_name)
                except LAYER_ERRORS:
                    logger.warning("ws decisions: the channel layer does not answer; polling the outbox only")
                    self.hints_joined = False
            await asyncio.sleep(settings.STREAM_POLL_S)

    async def _join_hints(self) -> None:
        if self.hints_joined or self.reader is None:
            return
        try:
            await self.channel_layer.group_add(self.reader.group, self.channel_name)
        except LAYER_ERRORS:
            return
        self.hints_joined = True

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
        await self._join_hints()
        await self.accept()
        await self._send_new_events()  # the replay, if a last_event_id was given
        self.poller = asyncio.create_task(self._poll())

    async def disconnect(self, code):
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        if self.hints_joined:
            with contextlib.suppress(*LAYER_ERRORS):
                await self.channel_layer.group_discard(self.reader.group, self.channel_name)

    async def decisions_published(self, message):
        if self.reader is not None and self.reader.wants(message):
            await self._send_new_events()

    async def _poll(self):
        while True:
            await asyncio.sleep(settings.STREAM_POLL_S)
            await self._join_hints()
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
