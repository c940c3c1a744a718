"""Admin for rules: every save validated, versioned and audited by rule_save."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from organisations.admin import OrganisationScoped
from scoring.models import Rule
from scoring.services.rules import rule_save


@admin.register(Rule)
class RuleAdmin(OrganisationScoped, SimpleHistoryAdmin):
    """Rules are edited here; every save is validated, versioned (history) and audited by rule_save."""

    list_display = ["code", "name", "kind", "action", "risk_level", "is_active", "updated_at"]
    list_filter = ["kind", "action", "is_active"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: decisions keep naming the rules that hit

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("scoring.manage_rules")

    def has_add_permission(self, request):
        return request.user.has_perm("scoring.manage_rules")

    def save_model(self, request, obj, form, change):
        rule_save(rule=obj, actor=request.user, reason="admin")
