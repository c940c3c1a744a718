"""Admin for rules: every save validated, versioned and audited by rule_save; drafts backtested and handed to
maker-checker (a second person with scoring.manage_rules activates them on the approvals page)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from simple_history.admin import SimpleHistoryAdmin

from approvals.admin import FourEyesAdmin
from kernel.errors import Conflict
from organisations.admin import OrganisationScoped
from scoring.models import Rule, RuleActivation
from scoring.services.rule_drafts import rule_activation_request, rule_backtest
from scoring.services.rules import rule_save


@admin.register(Rule)
class RuleAdmin(OrganisationScoped, SimpleHistoryAdmin):
    """Rules are edited here; every save is validated, versioned (history) and audited by rule_save."""

    list_display = ["code", "name", "kind", "action", "risk_level", "is_active", "updated_at"]
    list_filter = ["kind", "action", "is_active"]
    search_fields = ["code", "name"]
    actions = ["backtest_selected", "request_activation"]

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: decisions keep naming the rules that hit

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("scoring.manage_rules")

    def has_add_permission(self, request):
        return request.user.has_perm("scoring.manage_rules")

    def save_model(self, request, obj, form, change):
        rule_save(rule=obj, actor=request.user, reason="admin")

    @admin.action(description="Backtest on stored history")
    def backtest_selected(self, request, queryset):
        for rule in queryset[:10]:
            b = rule_backtest(rule=rule)
            self.message_user(
                request,
                f"{rule.code}: {b['hits']} hit(s) in {b['transactions']} stored transactions, precision "
                f"{b['precision']}, recall {b['recall']} on {b['labelled']} labelled, {b['added_alerts']} alert(s) "
                f"added ({b['added_alert_rate']:.3%}).",
                messages.INFO,
            )

    @admin.action(description="Ask for activation of the selected drafts (a second person decides)")
    def request_activation(self, request, queryset):
        for rule in queryset.filter(is_active=False):
            try:
                rule_activation_request(rule=rule, actor=request.user, reason="asked from the rules admin")
                self.message_user(request, f"{rule.code}: activation asked; it waits for a second person.")
            except (ValidationError, PermissionDenied, Conflict) as exc:
                message = getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [])) or str(exc)
                self.message_user(request, f"{rule.code}: {message}", messages.ERROR)


@admin.register(RuleActivation)
class RuleActivationAdmin(FourEyesAdmin):
    list_display = ["rule", "status", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
