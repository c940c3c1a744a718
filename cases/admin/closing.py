"""Admin for closing checklists (per outcome and minimum severity), the duplicate suppression rule, and the
read-only record of ticks, decision reviews and held-back alerts."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from cases.models import (
    ChecklistItem,
    ChecklistTick,
    ClosingChecklist,
    DecisionReview,
    SuppressedAlert,
    SuppressionRule,
)
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    fields = ("position", "text", "is_required")
    extra = 3


@admin.register(ClosingChecklist)
class ClosingChecklistAdmin(OrganisationScoped, SimpleHistoryAdmin):
    """Edits are versioned (simple-history); a case's ticks keep the item text they ticked in its timeline."""

    list_display = ("name", "outcome", "min_severity", "is_active")
    list_filter = ("outcome", "min_severity", "is_active")
    list_editable = ("is_active",)
    search_fields = ("name", "items__text")
    inlines = [ChecklistItemInline]


@admin.register(ChecklistTick)
class ChecklistTickAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("case", "item", "ticked_by", "ticked_at")
    search_fields = ("case__reference", "item__text")
    list_select_related = ("case", "item", "ticked_by")
    readonly_fields = ("case", "item", "ticked_by", "ticked_at")


@admin.register(DecisionReview)
class DecisionReviewAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("case", "transaction", "verdict", "reviewed_by", "reviewed_at")
    list_filter = ("verdict",)
    search_fields = ("case__reference", "transaction__external_id", "reason")
    list_select_related = ("case", "transaction", "reviewed_by")
    readonly_fields = ("case", "transaction", "verdict", "reason", "reviewed_by", "reviewed_at")


@admin.register(SuppressionRule)
class SuppressionRuleAdmin(OrganisationScoped, SimpleHistoryAdmin):
    """One rule per organisation; without one, the CASES_SUPPRESSION_DAYS setting applies (14 days, up to HIGH)."""

    list_display = ("__str__", "is_active", "window_days", "max_severity")
    list_editable = ("is_active", "window_days", "max_severity")
    list_display_links = ("__str__",)


@admin.register(SuppressedAlert)
class SuppressedAlertAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("account_id", "previous_case", "severity", "status", "created_at", "reviewed_by")
    list_filter = ("status", "severity")
    search_fields = ("account_id", "previous_case__reference")
    list_select_related = ("previous_case", "reviewed_by")
    readonly_fields = (
        "transaction",
        "account_id",
        "previous_case",
        "severity",
        "created_at",
        "status",
        "reviewed_by",
        "reviewed_at",
        "note",
        "opened_case",
    )
