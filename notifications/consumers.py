"""ws /ws/notifications/: a person's bell, live. Each message carries the unread count, re-read from the
database, so a missed message is corrected by the next one or by reconnecting."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from notifications.selectors import unread_count
from notifications.services import user_group


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or self.scope.get("organisation") is None:
            await self.close(code=4403)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "unread", "unread": await self._unread()})

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def notification_created(self, message):
        await self.send_json(
            {
                "type": "notification",
                "kind": message["kind"],
                "title": message["title"],
                "url": message["url"],
                "unread": await self._unread(),
            }
        )

    async def notification_read(self, message):
        await self.send_json({"type": "unread", "unread": await self._unread()})

    @database_sync_to_async
    def _unread(self) -> int:
        return unread_count(self.scope["user"])
