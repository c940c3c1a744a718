"""Admin for the model registry: versions (promote, roll back) and promotion requests (four-eyes)."""

from django.contrib import admin
from django.db.models.functions import Length

from approvals.admin import FourEyesAdmin
from kernel.admin import ReadOnlyAdmin, admin_action
from organisations.admin import OrganisationScoped
from scoring.models import ModelVersion, PromotionRequest
from scoring.services.registry import model_promote_or_request, model_rollback


@admin.register(ModelVersion)
class ModelVersionAdmin(OrganisationScoped, ReadOnlyAdmin):
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
        "live_thresholds",
        "calibrated_at",
        "recalibrations",
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

    @admin.display(description="recalibrations to the alert budget (latest 10)")
    def recalibrations(self, obj):
        from django.utils.html import format_html_join

        rows = obj.calibrations.order_by("-created_at")[:10]
        return (
            format_html_join(
                "\n",
                "<div>{} {}: HIGH {} &rarr; {}, alert rate {} on {} decisions (budget {})</div>",
                (
                    (
                        c.created_at.strftime("%Y-%m-%d %H:%M"),
                        c.get_status_display(),
                        f"{c.previous['high']:.4f}",
                        f"{c.thresholds['high']:.4f}",
                        f"{c.observed_alert_rate:.2%}",
                        c.n_decisions,
                        f"{c.alert_budget:.2%}",
                    )
                    for c in rows
                ),
            )
            or "none yet: the training thresholds hold"
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
            admin_action(
                request, self, lambda mv=model_version: model_promote_or_request(model_version=mv, actor=request.user)
            )

    @admin.action(description="Roll back to the previous champion", permissions=["promote"])
    def rollback(self, request, queryset):
        admin_action(request, self, lambda: model_rollback(actor=request.user, reason="admin action"))

    def has_promote_permission(self, request):
        return request.user.has_perm("scoring.promote_model")


@admin.register(PromotionRequest)
class PromotionRequestAdmin(FourEyesAdmin):
    list_display = ["model_version", "status", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
