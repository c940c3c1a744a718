"""Django admin for transactions, decisions and the model registry.

Everything here is written by services (ingestion, scoring, training, labelling), so the admin
shows it read-only; labelling goes through record_labels, which audits it.
"""

from django.contrib import admin, messages
from django.db.models.functions import Length
from simple_history.admin import SimpleHistoryAdmin

from approvals.admin import FourEyesAdmin
from kernel.admin import ReadOnlyAdmin
from kernel.api.errors import ApiError
from scoring.models import Decision, DriftReport, Experiment, Label, ModelVersion, PromotionRequest, Rule, Transaction
from scoring.services import record_labels
from scoring.services.experiments import experiment_results, experiment_stop
from scoring.services.registry import model_promote_or_request, model_rollback
from scoring.services.rules import rule_save


class ModelVersionFilter(admin.SimpleListFilter):
    """Filter by model version without loading every version's ONNX artifact (the default filter does)."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        return [(str(pk), f"v{version}") for pk, version in ModelVersion.objects.values_list("pk", "version")]

    def queryset(self, request, queryset):
        return queryset.filter(model_version_id=self.value()) if self.value() else queryset


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "source",
        "account_id",
        "amount",
        "currency",
        "occurred_at",
        "channel",
        "country",
        "label",
        "risk_level",
    ]
    list_filter = ["source", "channel", "label", "country"]
    search_fields = ["=external_id", "=account_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["decision"]
    show_full_result_count = False  # no COUNT(*) over the whole table on every page
    actions = ["label_fraud", "label_legit"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Transaction._meta.concrete_fields]

    def has_add_permission(self, request):
        return False  # transactions arrive through ingestion

    def has_delete_permission(self, request, obj=None):
        return False  # transaction records are retained

    @admin.display(description="risk", ordering="decision__risk_level")
    def risk_level(self, obj):
        decision = getattr(obj, "decision", None)
        return decision.risk_level if decision else "-"

    @admin.action(description="Label selected transactions as fraud", permissions=["change"])
    def label_fraud(self, request, queryset):
        self._label(request, queryset, Label.FRAUD)

    @admin.action(description="Label selected transactions as legitimate", permissions=["change"])
    def label_legit(self, request, queryset):
        self._label(request, queryset, Label.LEGIT)

    def _label(self, request, queryset, label):
        ids = list(queryset.values_list("pk", flat=True))
        count = record_labels(transaction_ids=ids, label=label, actor=request.user)
        self.message_user(request, f"Labelled {count} transaction(s) as {label.label.lower()}.", messages.SUCCESS)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["transaction", "model_version", "score", "risk_level", "flagged", "created_at"]
    list_filter = ["risk_level", "flagged", ModelVersionFilter]
    raw_id_fields = ["transaction", "model_version"]
    list_select_related = ["transaction", "model_version"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("model_version")
            .defer(*ModelVersion.heavy_fields("model_version"))
        )


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["version", "status", "algorithm", "training_size", "holdout_recall", "created_at", "promoted_at"]
    actions = ["promote", "rollback"]
    list_filter = ["status", "algorithm"]
    # The ONNX artifact itself is never rendered (hundreds of kB of binary): its size and hash are.
    fields = [
        "version",
        "status",
        "algorithm",
        "artifact_sha256",
        "artifact_size",
        "feature_names",
        "params",
        "thresholds",
        "metrics",
        "score_reference",
        "training_window_start",
        "training_window_end",
        "training_size",
        "drift_reference",
        "created_at",
        "created_by",
        "promoted_at",
        "promoted_by",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .defer("artifact", "explainer_artifact")
            .annotate(artifact_bytes=Length("artifact"))
            .select_related("created_by", "promoted_by")
        )

    @admin.display(description="artifact size (bytes)")
    def artifact_size(self, obj):
        return obj.artifact_bytes

    @admin.display(description="held-out recall")
    def holdout_recall(self, obj):
        return (obj.metrics or {}).get("holdout", {}).get("recall", "-")

    @admin.action(description="Promote (asks a second person's approval when four-eyes is on)", permissions=["promote"])
    def promote(self, request, queryset):
        for model_version in queryset:
            _call(
                request, self, lambda mv=model_version: model_promote_or_request(model_version=mv, actor=request.user)
            )

    @admin.action(description="Roll back to the previous champion", permissions=["promote"])
    def rollback(self, request, queryset):
        _call(request, self, lambda: model_rollback(actor=request.user, reason="admin action"))

    def has_promote_permission(self, request):
        return request.user.has_perm("scoring.promote_model")


def _call(request, model_admin, action) -> None:
    try:
        result = action()
    except ApiError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
        return
    model_admin.message_user(request, f"Done: {result}.", messages.SUCCESS)


@admin.register(PromotionRequest)
class PromotionRequestAdmin(FourEyesAdmin):
    list_display = ["model_version", "status", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]


@admin.register(Rule)
class RuleAdmin(SimpleHistoryAdmin):
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


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "model_version", "window_size", "is_drifted", "retraining_started"]
    list_filter = ["is_drifted"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("model_version")
            .defer(*ModelVersion.heavy_fields("model_version"))
        )


@admin.register(Experiment)
class ExperimentAdmin(ReadOnlyAdmin):
    list_display = ["name", "champion", "challenger", "challenger_share", "is_active", "started_at", "ended_at"]
    readonly_fields = ["results"]
    actions = ["stop"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("champion", "challenger")
            .defer(*ModelVersion.heavy_fields("champion"), *ModelVersion.heavy_fields("challenger"))
        )

    @admin.display(description="results")
    def results(self, obj):
        return experiment_results(experiment=obj)

    @admin.action(description="Stop the experiment", permissions=["manage"])
    def stop(self, request, queryset):
        for experiment in queryset.filter(is_active=True):
            _call(request, self, lambda e=experiment: experiment_stop(experiment=e, actor=request.user))

    def has_manage_permission(self, request):
        return request.user.has_perm("scoring.manage_experiments")
