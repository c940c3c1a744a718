"""Admin for cases, teams, routing rules, approvals (approve/reject actions) and timelines."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from approvals.admin import FourEyesAdmin
from cases.models import (
    Approval,
    Case,
    CaseCounter,
    CaseEvent,
    CaseTransaction,
    Comment,
    Mention,
    RoutingRule,
    Team,
)
from kernel.admin import ReadOnlyAdmin


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
class CaseAdmin(SimpleHistoryAdmin):
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
    list_filter = ("status", "severity", "team", "outcome", "opened_at")
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
        "assignee",
        "team",
        "sla_due_at",
    )
    inlines = [CaseTransactionInline, CaseEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request) & Case.objects.visible_to(request.user)


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(SimpleHistoryAdmin):
    list_display = ("priority", "name", "team", "account_prefix", "min_severity", "source", "rule_code", "is_active")
    list_display_links = ("name",)
    list_editable = ("priority", "is_active")
    list_filter = ("team", "is_active")
    list_select_related = ("team",)


@admin.register(Approval)
class ApprovalAdmin(FourEyesAdmin, SimpleHistoryAdmin):
    list_display = ("case", "outcome", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("status", "outcome")
    search_fields = ("case__reference",)
    readonly_fields = [f.name for f in Approval._meta.fields]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ("case", "author", "created_at")
    search_fields = ("case__reference", "author__username")
    list_select_related = ("case", "author")
    readonly_fields = ("case", "author", "body", "created_at")


@admin.register(Mention)
class MentionAdmin(ReadOnlyAdmin):
    list_display = ("comment", "user", "created_at", "read_at")
    list_select_related = ("comment", "user")
    readonly_fields = ("comment", "user", "created_at", "read_at")


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ("case", "kind", "actor", "created_at")
    list_filter = ("kind",)
    search_fields = ("case__reference", "actor")
    list_select_related = ("case",)
    readonly_fields = ("case", "kind", "actor", "data", "created_at")


@admin.register(CaseTransaction)
class CaseTransactionAdmin(ReadOnlyAdmin):
    list_display = ("case", "transaction", "added_at")
    search_fields = ("case__reference", "transaction__external_id")
    list_select_related = ("case", "transaction")
    raw_id_fields = ("case", "transaction")


@admin.register(CaseCounter)
class CaseCounterAdmin(ReadOnlyAdmin):
    list_display = ("year", "last")
