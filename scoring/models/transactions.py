"""Transactions as integrators sent them, and the decision taken on each."""

from django.db import models

from organisations.models import OrganisationOwned, organisation_field
from scoring.models.registry import ModelVersion


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


class Transaction(OrganisationOwned):
    organisation = organisation_field(hot=True)
    source = models.CharField(
        max_length=64, help_text="Where it came from: an API key's source, a pull source, an upload."
    )
    external_id = models.CharField(max_length=128)
    account_id = models.CharField(max_length=128)  # indexed by txn_account_time (account_id first)
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
        # External ids are unique per organisation and source. external_id before source: the ingest
        # duplicate check (`organisation = … AND external_id = ANY(...) AND source = ...`) then descends
        # the index by id whatever the planner believes of a source's size. Led by source, a source new
        # since the last ANALYZE was estimated at one row and its whole index range was scanned per check
        # (5 ms at 10,000 stored rows, 37 ms at 50,000, growing with the source).
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "external_id", "source"], name="transaction_unique_per_source"
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "account_id", "occurred_at"], name="txn_account_time"),
            # A merchant's recent payments: the counterparty features and investigations read them.
            models.Index(fields=["organisation", "merchant_id", "occurred_at"], name="txn_merchant_time"),
        ]
        permissions = [("ingest_transactions", "Can submit transactions for scoring")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class JSONTextField(models.JSONField):
    """A JSONField kept in PostgreSQL's `json` type (the text as written) instead of `jsonb`.

    For values written in bulk and only ever read whole: jsonb parses every number into a numeric on the
    way in (a 10,000-item batch's feature vectors: COPY ~0.14 s into jsonb, ~0.06 s into json, measured
    here) and stores them larger (334 against 160 bytes for one vector). Lookups into the value (keys,
    containment) are not for it. Elsewhere (SQLite) a plain JSONField.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def select_format(self, compiler, sql, params):
        # Read as text, as Django reads jsonb: psycopg would decode `json` itself, and a decoded string
        # could not be told from JSON text in from_db_value.
        if compiler.connection.vendor == "postgresql":
            return f"({sql})::text", params
        return super().select_format(compiler, sql, params)


class Decision(OrganisationOwned):
    # Both references are enforced by the database, by triggers that check a whole statement's rows at
    # once (migration 0012) rather than by foreign-key constraints, which check row by row at commit:
    # ~70 ms of a 10,000-decision batch on PostgreSQL.
    transaction = models.OneToOneField(
        Transaction, primary_key=True, on_delete=models.CASCADE, related_name="decision", db_constraint=False
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="decisions", db_constraint=False
    )
    organisation = organisation_field(hot=True)
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
    features = JSONTextField(
        null=True, blank=True, help_text="The model's input vector, in its version's feature_names order."
    )
    arm = models.CharField(max_length=16, blank=True, default="", help_text="Experiment arm, when one ran.")
    latency_ms = models.FloatField(help_text="Scoring time per item in its batch.")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["organisation", "flagged", "created_at"], name="decision_flagged_time"),
            models.Index(fields=["organisation", "risk_level"], name="decision_risk"),
        ]
        permissions = [
            ("view_explanation", "Can view model explanations"),
            ("view_live_decisions", "Can follow the live decision stream"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id}: {self.risk_level} {self.score:.3f}"
