"""Admin for four-eyes requests: each kind's model admin subclasses FourEyesAdmin to list and decide them."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse

from approvals.kinds import approval_kind_of
from approvals.services import approval_decide
from kernel.admin import ReadOnlyAdmin
from kernel.errors import Conflict
from organisations.admin import OrganisationScoped


class FourEyesAdmin(OrganisationScoped, ReadOnlyAdmin):
    """Read-only rows the user may see, with approve and reject actions (rejecting asks for the reason)."""

    actions = ["approve_selected", "reject_selected"]

    def get_queryset(self, request):
        kind = approval_kind_of(self.model())
        return kind.visible_to(request.user).select_related("requested_by", "decided_by")

    @admin.action(description="Approve the selected requests (four-eyes)", permissions=["decide"])
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, approve=True, note="")

    @admin.action(description="Reject the selected requests…", permissions=["decide"])
    def reject_selected(self, request, queryset):
        note = request.POST.get("note", "").strip()
        if "confirm" not in request.POST or not note:
            context = {
                **self.admin_site.each_context(request),
                "title": "Reject with a reason",
                "requests": queryset,
                "opts": self.model._meta,
                "action": "reject_selected",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "missing_note": "confirm" in request.POST,
            }
            return TemplateResponse(request, "approvals/admin_reject.html", context)
        self._decide(request, queryset, approve=False, note=note)
        return None

    def has_decide_permission(self, request):
        return request.user.has_perm(approval_kind_of(self.model()).decide_permission)

    def _decide(self, request, queryset, *, approve: bool, note: str) -> None:
        done = 0
        for pending in queryset.filter(status=self.model.Status.PENDING):
            try:
                approval_decide(approval=pending, actor=request.user, approve=approve, note=note)
                done += 1
            except (ValidationError, PermissionDenied, Conflict) as exc:
                message = getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [])) or str(exc)
                self.message_user(request, f"{pending}: {message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} request(s) {'approved' if approve else 'rejected'}.", messages.SUCCESS)
