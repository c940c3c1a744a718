"""Transactions, the decisions taken on them, and the registry of model versions that took them."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class RiskLevel(models.TextChoices):
    LOW = "LOW", "Low"
    MEDIUM = "MEDIUM", "Medium"
    HIGH = "HIGH", "High"
    CRITICAL = "CRITICAL", "Critical"


RISK_ORDER = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2, RiskLevel.CRITICAL: 3}


class Label(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    LEGIT = "legit", "Legitimate"
    FRAUD = "fraud", "Fraud"


class Transaction(models.Model):
    source = models.CharField(
        max_length=64, help_text="Where it came from: an API key's source, a pull source, an upload."
    )
    external_id = models.CharField(max_length=128)
    account_id = models.CharField(max_length=128, db_index=True)
    amount = models.DecimalField(max_digits=20, decimal_places=4, help_text="Negative for refunds and reversals.")
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    merchant_id = models.CharField(max_length=128, blank=True, default="")
    merchant_category = models.CharField(max_length=4, blank=True, default="", help_text="MCC, 4 digits.")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166 alpha-2.")
    channel = models.CharField(max_length=32, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()
    label = models.CharField(max_length=8, choices=Label.choices, default=Label.UNKNOWN)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="transaction_unique_per_source")]
        indexes = [models.Index(fields=["account_id", "occurred_at"], name="txn_account_time")]
        permissions = [("ingest_transactions", "Can submit transactions for scoring")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        CHAMPION = "champion", "Champion"
        CHALLENGER = "challenger", "Challenger"
        RETIRED = "retired", "Retired"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    algorithm = models.CharField(max_length=64)
    artifact = models.BinaryField(help_text="The ONNX model.")
    artifact_sha256 = models.CharField(max_length=64)
    feature_names = models.JSONField()
    params = models.JSONField(default=dict, blank=True, help_text="Hyper-parameters and conversion options.")
    score_reference = models.JSONField(help_text="Quantiles of raw training scores, to map a raw score to 0..1.")
    thresholds = models.JSONField(help_text="Normalised score at which a decision becomes MEDIUM, HIGH, CRITICAL.")
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

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="champion"), name="one_champion_model"),
        ]
        permissions = [
            ("promote_model", "Can promote or roll back a model version"),
            ("retrain_model", "Can start model retraining"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"


class Decision(models.Model):
    transaction = models.OneToOneField(Transaction, primary_key=True, on_delete=models.CASCADE, related_name="decision")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="decisions")
    score = models.FloatField(help_text="0..1, higher is more anomalous.")
    risk_level = models.CharField(max_length=8, choices=RiskLevel.choices)
    flagged = models.BooleanField(default=False)
    rule_hits = models.JSONField(
        default=list,
        blank=True,
        help_text='Rules that hit: [{"rule": code, "name", "action": "raise"|"flag", "risk_level", "reason"}].',
    )
    explanation = models.JSONField(
        null=True,
        blank=True,
        help_text='Top SHAP contributions: {"method", "base_value", "contributions": [{"feature", "label", '
        '"value", "contribution" (> 0 pushes towards anomalous), "text"}]}; null until explained.',
    )
    features = models.JSONField(
        null=True, blank=True, help_text="The model's input vector, in its version's feature_names order."
    )
    arm = models.CharField(max_length=16, blank=True, default="", help_text="Experiment arm, when one ran.")
    latency_ms = models.FloatField(help_text="Scoring time per item in its batch.")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["flagged", "created_at"], name="decision_flagged_time"),
            models.Index(fields=["risk_level"], name="decision_risk"),
        ]
        permissions = [
            ("view_explanation", "Can view model explanations"),
            ("view_live_decisions", "Can follow the live decision stream"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id}: {self.risk_level} {self.score:.3f}"
