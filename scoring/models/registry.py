"""The registry of model versions, and the four-eyes requests to promote one."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from approvals.models import FourEyesRequest, one_pending_per
from organisations.models import OrganisationOwned


class ModelVersion(OrganisationOwned):
    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        CHAMPION = "champion", "Champion"
        CHALLENGER = "challenger", "Challenger"
        RETIRED = "retired", "Retired"

    version = models.PositiveIntegerField(help_text="1, 2, 3... within the organisation.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    algorithm = models.CharField(max_length=64)
    artifact = models.BinaryField(help_text="The ONNX model (both detectors in one graph).")
    artifact_sha256 = models.CharField(max_length=64)
    feature_names = models.JSONField()
    params = models.JSONField(default=dict, blank=True, help_text="Hyper-parameters and conversion options.")
    explainer_artifact = models.BinaryField(
        default=b"", blank=True, help_text="The forest's trees for SHAP (npz arrays, no pickle)."
    )
    score_reference = models.JSONField(
        help_text="Per detector and for the ensemble: quantiles of raw training scores, to map a score to 0..1."
    )
    thresholds = models.JSONField(help_text="Normalised score at which a decision becomes MEDIUM, HIGH, CRITICAL.")
    live_thresholds = models.JSONField(
        null=True,
        blank=True,
        help_text="The thresholds in force after recalibration to the alert budget (empty: the training ones).",
    )
    calibrated_at = models.DateTimeField(null=True, blank=True, help_text="When live_thresholds last changed.")
    training_window_start = models.DateTimeField(null=True, blank=True)
    training_window_end = models.DateTimeField(null=True, blank=True)
    training_size = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    drift_reference = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # Hundreds of kB a row (the ONNX graph, SHAP's trees, the score and drift references): read by what
    # scores, explains or watches drift, never to show or reference a version. Reading them with every
    # decision (select_related) sent ~760 kB and decoded ~110 kB of JSON per decision.
    HEAVY_FIELDS = ("artifact", "explainer_artifact", "score_reference", "drift_reference")

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "version"], name="model_version_unique"),
            models.UniqueConstraint(fields=["organisation"], condition=Q(status="champion"), name="one_champion_model"),
        ]
        permissions = [
            ("promote_model", "Can promote or roll back a model version"),
            ("retrain_model", "Can start model retraining"),
            ("manage_experiments", "Can start and stop champion/challenger experiments"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"

    @property
    def thresholds_in_force(self) -> dict:
        return self.live_thresholds or self.thresholds

    @classmethod
    def heavy_fields(cls, path: str = "") -> list[str]:
        """HEAVY_FIELDS for defer(), reached from another model through `path` (e.g. "decision__model_version")."""
        return [f"{path}__{name}" if path else name for name in cls.HEAVY_FIELDS]


class PromotionRequest(FourEyesRequest):
    """Four-eyes on the model registry: one person asks to promote a candidate, another approves it."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="promotion_requests")
    reason = models.TextField(blank=True, default="", help_text="Why the requester asks.")

    class Meta(FourEyesRequest.Meta):
        constraints = [
            *FourEyesRequest.Meta.constraints,
            one_pending_per("model_version", name="one_pending_promotion_per_model"),
        ]

    def __str__(self) -> str:
        return f"promote v{self.model_version.version} ({self.status})"
