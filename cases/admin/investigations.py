"""Admin for investigations (read-only: the agent writes them) and the agent's proposals (accept or reject)."""

from django.contrib import admin

from approvals.admin import FourEyesAdmin
from cases.models import AgentAction, Investigation
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


@admin.register(Investigation)
class InvestigationAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("id", "case", "mode", "status", "requested_by", "provider", "duration_ms", "created_at")
    list_filter = ("status", "mode", "provider")
    search_fields = ("case__reference",)
    list_select_related = ("case", "requested_by")
    readonly_fields = (
        "case", "transaction", "mode", "status", "requested_by", "provider", "model", "prompt_version", "created_at",
        "started_at", "finished_at", "duration_ms", "recommendation", "findings", "narrative", "dropped_claims",
        "evidence", "trace", "error",
    )  # fmt: skip


@admin.register(AgentAction)
class AgentActionAdmin(FourEyesAdmin):
    list_display = ("case", "action_kind", "status", "requested_at", "decided_by", "decided_at", "applied_at")
    list_filter = ("status", "action_kind")
    search_fields = ("case__reference",)
