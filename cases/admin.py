"""Admin for cases and their timelines."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadOnlyAdmin
from cases.models import Case, CaseCounter, CaseEvent, CaseTransaction


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "kind", "actor", "data")

    def has_add_permission(self, request, obj=None):
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
    list_display = ("reference", "title", "status", "severity", "assignee", "sla_due_at", "opened_at", "outcome")
    list_filter = ("status", "severity", "outcome", "opened_at")
    search_fields = ("reference", "account_id", "title")
    date_hierarchy = "opened_at"
    list_select_related = ("assignee",)
    raw_id_fields = ("assignee",)
    readonly_fields = ("reference", "account_id", "opened_at", "closed_at", "outcome", "rationale", "status")
    inlines = [CaseTransactionInline, CaseEventInline]


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
