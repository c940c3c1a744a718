"""Watching the champion: drift reports, and champion/challenger experiments."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from approvals.models import FourEyesRequest, one_pending_per
from organisations.models import OrganisationOwned
from scoring.models.registry import ModelVersion


class DriftReport(OrganisationOwned):
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="drift_reports")
    created_at = models.DateTimeField()
    window_size = models.PositiveIntegerField()
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(help_text='Per feature and "score": {"psi", "ks", "ks_pvalue", "drifted"}.')
    drifted_features = models.JSONField(default=list)
    is_drifted = models.BooleanField(default=False)
    retraining_started = models.BooleanField(default=False)
    alert_rate = models.FloatField(null=True, blank=True, help_text="Share of the window flagged (model and rules).")
    model_alert_rate = models.FloatField(
        null=True, blank=True, help_text="Share of the window at or above the HIGH threshold in force."
    )
    alert_budget = models.FloatField(null=True, blank=True, help_text="ALERT_BUDGET when the report was made.")

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        state = "drifted" if self.is_drifted else "stable"
        return f"drift v{self.model_version.version} {self.created_at:%Y-%m-%d %H:%M} ({state})"


class RetrainRun(OrganisationOwned):
    """One retraining, asked for by a person or a drift report: queued as a row first, so a request whose
    task was lost (the broker down at commit) is queued again by the stale-job sweep."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    reason = models.CharField(max_length=200)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of its worker.")
    finished_at = models.DateTimeField(null=True, blank=True)
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The candidate."
    )
    failure = models.TextField(blank=True, help_text="Why it failed.")
    percent = models.PositiveSmallIntegerField(default=0, help_text="How far the training is, 0 to 100.")
    stage = models.CharField(max_length=100, blank=True, help_text="What the training is doing now.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(percent__lte=100), name="retrainrun_percent_at_most_100")]
        indexes = [
            models.Index(
                fields=["heartbeat_at"], condition=Q(status__in=["queued", "running"]), name="retrainrun_unfinished"
            )
        ]

    def __str__(self) -> str:
        return f"retraining #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}


class Experiment(OrganisationOwned):
    """Champion vs challenger: a stable share of accounts is scored by the challenger."""

    name = models.CharField(max_length=200)
    champion = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    challenger = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="experiments")
    challenger_share = models.FloatField(help_text="Share of accounts (0..1) routed to the challenger.")
    salt = models.CharField(max_length=32, help_text="Hash salt: the same account always lands in the same arm.")
    is_active = models.BooleanField(default=True)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["organisation"], condition=Q(is_active=True), name="one_active_experiment"),
            models.CheckConstraint(
                condition=Q(challenger_share__gt=0) & Q(challenger_share__lt=1), name="experiment_share_between_0_and_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: v{self.champion.version} vs v{self.challenger.version}"


class ThresholdCalibration(OrganisationOwned):
    """One recalibration of a champion's thresholds to the alert budget, applied or awaiting four-eyes.

    Made by scoring.services.calibration from the champion's recent scores (scoring.calibration): the
    thresholds before and after, where the budget alone would have put them, the window and the alert
    rate observed in it.
    """

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        PROPOSED = "proposed", "Proposed: beyond the bound, needs four-eyes"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="calibrations")
    status = models.CharField(max_length=16, choices=Status.choices)
    created_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    previous = models.JSONField(help_text="The thresholds in force before.")
    thresholds = models.JSONField(help_text="The recalibrated thresholds (each moved at most one step).")
    target = models.JSONField(help_text="Where the budget alone puts them on this window.")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    n_decisions = models.PositiveIntegerField()
    observed_alert_rate = models.FloatField(help_text="Share of the window at or above the previous HIGH threshold.")
    expected_alert_rate = models.FloatField(help_text="... at or above the new one.")
    alert_budget = models.FloatField()
    largest_move = models.FloatField()

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"calibration v{self.model_version.version} {self.created_at:%Y-%m-%d %H:%M} ({self.status})"


class CalibrationRequest(FourEyesRequest):
    """Four-eyes on a recalibration that moves a threshold beyond CALIBRATION_APPROVAL_STEP."""

    calibration = models.ForeignKey(ThresholdCalibration, on_delete=models.PROTECT, related_name="requests")
    reason = models.TextField(blank=True, default="", help_text="Why the requester asks.")

    class Meta(FourEyesRequest.Meta):
        constraints = [
            *FourEyesRequest.Meta.constraints,
            one_pending_per("calibration", name="one_pending_request_per_calibration"),
        ]

    def __str__(self) -> str:
        return f"apply calibration {self.calibration_id} ({self.status})"
