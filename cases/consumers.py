"""WebSockets for the workspace: /ws/cases/ (worklist, dashboard) and /ws/cases/<reference>/ (a case page).

A user only hears about cases they may see: they join only their teams', their own and (with
cases.view_all_cases) the all-cases group, and every hint is re-checked against
Case.objects.visible_to(user) before it is forwarded. Hints carry a reference, never case data.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cases.models import Case, Team
from cases.services.live import all_cases_group, case_group, team_group, user_group


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

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", None) or ():
            await self.channel_layer.group_discard(group, self.channel_name)

    async def case_changed(self, message):
        if await self._may_see(message["case_id"]):
            await self.send_json({"type": "case.changed", "reference": message["reference"], "kind": message["kind"]})

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
