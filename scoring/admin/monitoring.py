"""Admin for drift reports, threshold recalibrations, retraining runs and experiments."""

from django.contrib import admin

from approvals.admin import FourEyesAdmin
from kernel.admin import ReadOnlyAdmin, admin_action
from organisations.admin import OrganisationScoped
from scoring.models import CalibrationRequest, DriftReport, Experiment, ModelVersion, RetrainRun, ThresholdCalibration
from scoring.services.calibration import calibration_request
from scoring.services.experiments import experiment_results, experiment_stop


class _OfAModelVersion:
    """Lists of rows about a model version: the version's number, never its heavy fields."""

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("model_version")
            .defer(*ModelVersion.heavy_fields("model_version"))
        )


@admin.register(DriftReport)
class DriftReportAdmin(_OfAModelVersion, OrganisationScoped, ReadOnlyAdmin):
    list_display = [
        "created_at", "model_version", "window_size", "is_drifted", "retraining_started", "model_alert_rate",
        "alert_rate", "alert_budget",
    ]  # fmt: skip
    list_filter = ["is_drifted"]


@admin.register(RetrainRun)
class RetrainRunAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = [
        "created_at", "reason", "requested_by", "status", "percent", "stage", "heartbeat_at", "model_version",
        "failure",
    ]  # fmt: skip
    list_filter = ["status"]
    list_select_related = ["requested_by", "model_version"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*ModelVersion.heavy_fields("model_version"))


@admin.register(Experiment)
class ExperimentAdmin(OrganisationScoped, ReadOnlyAdmin):
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
            admin_action(request, self, lambda e=experiment: experiment_stop(experiment=e, actor=request.user))

    def has_manage_permission(self, request):
        return request.user.has_perm("scoring.manage_experiments")


@admin.register(ThresholdCalibration)
class ThresholdCalibrationAdmin(_OfAModelVersion, OrganisationScoped, ReadOnlyAdmin):
    list_display = [
        "created_at", "model_version", "status", "n_decisions", "observed_alert_rate", "expected_alert_rate",
        "alert_budget", "largest_move",
    ]  # fmt: skip
    list_filter = ["status"]
    actions = ["ask_to_apply"]

    @admin.action(description="Ask to apply (a second person approves)", permissions=["calibrate"])
    def ask_to_apply(self, request, queryset):
        for calibration in queryset:
            admin_action(
                request,
                self,
                lambda c=calibration: calibration_request(calibration=c, actor=request.user, reason="admin action"),
            )

    def has_calibrate_permission(self, request):
        return request.user.has_perm("scoring.promote_model")


@admin.register(CalibrationRequest)
class CalibrationRequestAdmin(FourEyesAdmin):
    list_display = ["calibration", "status", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
