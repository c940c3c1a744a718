"""Admin for cases, with their transactions and timeline inline, and the approvals of their closure."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from approvals.admin import FourEyesAdmin
from cases import services
from cases.models import (
    Approval,
    Case,
    CaseEvent,
    CaseTransaction,
)
from kernel.pages import run_service
from organisations.admin import OrganisationScoped


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "kind", "actor", "data")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CaseTransactionInline(admin.TabularInline):
    model = CaseTransaction
    extra = 0
    can_delete = False
    raw_id_fields = ("transaction",)
    readonly_fields = ("transaction", "added_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(OrganisationScoped, SimpleHistoryAdmin):
    """Case fields that carry workflow (status, outcome, assignee, team) change only through the workspace
    services (sharing too, so every grant is audited); admin shows them and edits the title."""

    list_display = (
        "reference",
        "title",
        "status",
        "severity",
        "priority",
        "team",
        "assignee",
        "sla_due_at",
        "opened_at",
        "outcome",
    )
    list_filter = ("status", "severity", "team", "outcome", "origin", "opened_at")
    search_fields = ("reference", "account_id", "title")
    date_hierarchy = "opened_at"
    list_select_related = ("assignee", "team")
    raw_id_fields = ("assignee",)
    readonly_fields = (
        "reference",
        "account_id",
        "opened_at",
        "closed_at",
        "outcome",
        "rationale",
        "status",
        "severity",
        "peak_severity",
        "assignee",
        "team",
        "sla_due_at",
        "sla_warned_at",
        "sla_breached_at",
        "origin",
        "description",
        "version",
    )
    inlines = [CaseTransactionInline, CaseEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request) & Case.objects.visible_to(request.user)

    def save_model(self, request, obj, form, change):
        """Title and priority change through case_update: audited, and refused while a closure waits."""
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in ("title", "priority")}
        if changes:
            run_service(request, services.case_update, case=obj, actor=request.user, **changes)


@admin.register(Approval)
class ApprovalAdmin(FourEyesAdmin, SimpleHistoryAdmin):
    list_display = ("case", "outcome", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("status", "outcome")
    search_fields = ("case__reference",)
    readonly_fields = [f.name for f in Approval._meta.fields]
