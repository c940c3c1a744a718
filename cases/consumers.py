"""WebSockets for the workspace: /ws/cases/ (worklist, dashboard) and /ws/cases/<reference>/ (a case page).

A user only hears about cases they may see: they join only their teams', their own and (with
cases.view_all_cases) the all-cases group, and every hint is re-checked against
Case.objects.visible_to(user) before it is forwarded. Hints carry a reference, never case data.

A case page's socket also tells who else has the case open (presence). Each socket announces its viewer to
the case's group through the channel layer, so sockets on different web processes see each other; a new
socket is answered by every other one; a closing socket says it has gone, and one that drops without a
word (its process died) is forgotten after three missed heartbeats. Nothing is kept in a process' memory
beyond each socket's own list.
"""

import asyncio
import contextlib
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from cases.models import Case, Team
from cases.services.live import all_cases_group, case_group, team_group, user_group

MISSED_HEARTBEATS = 3


class CasesConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4403)
            return
        self.groups_joined = await self._groups(user)
        if self.groups_joined is None:
            await self.close(code=4404 if self.scope["url_route"]["kwargs"].get("reference") else 4403)
            return
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        if self.case_id is not None:
            await self._presence_start(user)

    async def disconnect(self, code):
        heartbeat = getattr(self, "heartbeat", None)
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(Exception):
                await self.channel_layer.group_send(
                    case_group(self.case_id), {"type": "presence.gone", "channel": self.channel_name}
                )
        for group in getattr(self, "groups_joined", None) or ():
            await self.channel_layer.group_discard(group, self.channel_name)

    async def case_changed(self, message):
        if await self._may_see(message["case_id"]):
            await self.send_json({"type": "case.changed", "reference": message["reference"], "kind": message["kind"]})

    # --- presence on a case page ------------------------------------------------------------------

    async def _presence_start(self, user) -> None:
        self.viewers: dict[str, tuple[int, str, float]] = {}  # channel -> (user id, username, last heard)
        self.shown: list[str] = []
        self.me = {"channel": self.channel_name, "user_id": user.pk, "username": user.get_username()}
        await self._announce(reply=True)
        self.heartbeat = asyncio.create_task(self._beat())

    async def _announce(self, *, reply: bool) -> None:
        await self.channel_layer.group_send(
            case_group(self.case_id), {"type": "presence.here", "reply": reply, **self.me}
        )

    async def _beat(self) -> None:
        interval = settings.CASES_PRESENCE_HEARTBEAT_S
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):  # the layer is down: the next beat tries again
                await self._announce(reply=False)
            cutoff = time.monotonic() - MISSED_HEARTBEATS * interval
            for channel in [c for c, (_u, _n, heard) in self.viewers.items() if heard < cutoff]:
                del self.viewers[channel]
            await self._show()

    async def presence_here(self, message):
        if message["channel"] == self.channel_name or not hasattr(self, "viewers"):
            return
        self.viewers[message["channel"]] = (message["user_id"], message["username"], time.monotonic())
        if message.get("reply"):
            await self.channel_layer.send(message["channel"], {"type": "presence.here", "reply": False, **self.me})
        await self._show()

    async def presence_gone(self, message):
        if hasattr(self, "viewers") and self.viewers.pop(message["channel"], None) is not None:
            await self._show()

    async def _show(self) -> None:
        """Send the names of the others (not this person's other tabs) when they changed."""
        names = sorted({name for user_id, name, _ in self.viewers.values() if user_id != self.me["user_id"]})
        if names != self.shown:
            self.shown = names
            await self.send_json({"type": "presence", "viewers": names})

    # --- scope ------------------------------------------------------------------------------------

    @database_sync_to_async
    def _groups(self, user) -> list[str] | None:
        if not user.has_perm("cases.view_case"):
            return None
        reference = self.scope["url_route"]["kwargs"].get("reference")
        if reference:
            case_id = Case.objects.visible_to(user).filter(reference=reference).values_list("pk", flat=True).first()
            if case_id is None:
                return None
            self.case_id = case_id
            return [case_group(case_id)]
        self.case_id = None
        organisation = self.scope.get("organisation")
        if getattr(organisation, "pk", None) is None:
            return None
        if user.has_perm("cases.view_all_cases"):
            return [all_cases_group(organisation.pk)]
        teams = Team.objects.filter(members=user).values_list("pk", flat=True)
        return [user_group(user.pk), *(team_group(pk) for pk in teams)]

    @database_sync_to_async
    def _may_see(self, case_id: int) -> bool:
        if self.case_id is not None and case_id != self.case_id:
            return False
        return Case.objects.visible_to(self.scope["user"]).filter(pk=case_id).exists()
