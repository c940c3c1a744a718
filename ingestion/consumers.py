"""WebSocket consumer for the live decision feed."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

DECISIONS_GROUP = "decisions"


class DecisionsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes each new decision to logged-in users allowed to view decisions."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self._may_view(user):
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(DECISIONS_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(DECISIONS_GROUP, self.channel_name)

    async def decisions_published(self, message):
        for event in message["events"]:
            await self.send_json(event)

    @staticmethod
    async def _may_view(user) -> bool:
        return await database_sync_to_async(user.has_perm)("scoring.view_live_decisions")
