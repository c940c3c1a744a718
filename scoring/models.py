"""Transactions, the decisions taken on them, and the registry of model versions that took them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from approvals.models import FourEyesRequest, one_pending_per


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
        # external_id first: the ingest duplicate check (`external_id = ANY(...) AND source = ...`) then
        # descends the index by id whatever the planner believes of a source's size. Led by source,
        # a source new since the last ANALYZE was estimated at one row and its whole index range was
        # scanned per check (5 ms at 10,000 stored rows, 37 ms at 50,000, growing with the source).
        constraints = [models.UniqueConstraint(fields=["external_id", "source"], name="transaction_unique_per_source")]
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
            models.UniqueConstraint(fields=["status"], condition=Q(status="champion"), name="one_champion_model"),
        ]
        permissions = [
            ("promote_model", "Can promote or roll back a model version"),
            ("retrain_model", "Can start model retraining"),
            ("manage_experiments", "Can start and stop champion/challenger experiments"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} ({self.status})"

    @classmethod
    def heavy_fields(cls, path: str = "") -> list[str]:
        """HEAVY_FIELDS for defer(), reached from another model through `path` (e.g. "decision__model_version")."""
        return [f"{path}__{name}" if path else name for name in cls.HEAVY_FIELDS]


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


class Decision(models.Model):
    # Both references are enforced by the database, by triggers that check a whole statement's rows at
    # once (migration 0012) rather than by foreign-key constraints, which check row by row at commit:
    # ~70 ms of a 10,000-decision batch on PostgreSQL.
    transaction = models.OneToOneField(
        Transaction, primary_key=True, on_delete=models.CASCADE, related_name="decision", db_constraint=False
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="decisions", db_constraint=False
    )
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
            models.Index(fields=["flagged", "created_at"], name="decision_flagged_time"),
            models.Index(fields=["risk_level"], name="decision_risk"),
        ]
        permissions = [
            ("view_explanation", "Can view model explanations"),
            ("view_live_decisions", "Can follow the live decision stream"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id}: {self.risk_level} {self.score:.3f}"


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


class Rule(models.Model):
    """A deterministic check next to the model; parameters per kind are validated by scoring.rules."""

    class Kind(models.TextChoices):
        STRUCTURING = "structuring", "Structuring under a reporting threshold"
        CARD_TESTING = "card_testing", "Card-testing burst"
        HIGH_RISK_COUNTRY = "high_risk_country", "High-risk country"
        AMOUNT_OVER_LIMIT = "amount_over_limit", "Amount over limit"
        VELOCITY = "velocity", "Velocity"

    class Action(models.TextChoices):
        RAISE = "raise", "Raise the risk level"
        FLAG = "flag", "Force a flag"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    risk_level = models.CharField(
        max_length=8, choices=RiskLevel.choices, help_text="The level a hit raises the decision to (at least)."
    )
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        permissions = [("manage_rules", "Can create and change scoring rules")]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind}, {self.action})"

    def clean(self):
        from scoring.rules import validate_rule

        validate_rule(self)


class DriftReport(models.Model):
    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="drift_reports")
    created_at = models.DateTimeField()
    window_size = models.PositiveIntegerField()
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(help_text='Per feature and "score": {"psi", "ks", "ks_pvalue", "drifted"}.')
    drifted_features = models.JSONField(default=list)
    is_drifted = models.BooleanField(default=False)
    retraining_started = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        state = "drifted" if self.is_drifted else "stable"
        return f"drift v{self.model_version.version} {self.created_at:%Y-%m-%d %H:%M} ({state})"


class Experiment(models.Model):
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
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_experiment"),
            models.CheckConstraint(
                condition=Q(challenger_share__gt=0) & Q(challenger_share__lt=1), name="experiment_share_between_0_and_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: v{self.champion.version} vs v{self.challenger.version}"


class AccountProfile(models.Model):
    """Running aggregates of every stored transaction of an account: the behavioural features' memory.

    Kept up to date inside each ingest transaction (scoring.profiles.profiles_record), so scoring a batch
    reads one row per account instead of aggregating months of history.
    """

    account_id = models.CharField(max_length=128, unique=True)
    n = models.PositiveBigIntegerField(default=0)
    sum_log_amount = models.FloatField(default=0.0, help_text="Sum of log1p(|amount|).")
    sum_log_amount_sq = models.FloatField(default=0.0)
    sum_hour_sin = models.FloatField(default=0.0, help_text="Time of day on the unit circle, summed.")
    sum_hour_cos = models.FloatField(default=0.0)
    last_epoch_s = models.FloatField(default=0.0, help_text="Latest occurred_at seen, Unix seconds.")

    def __str__(self) -> str:
        return f"{self.account_id} ({self.n})"


class AccountValueCount(models.Model):
    """How many of an account's stored transactions went to a country or a merchant."""

    class Kind(models.TextChoices):
        COUNTRY = "c", "Country"
        MERCHANT = "m", "Merchant"

    account_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=1, choices=Kind.choices)
    value = models.CharField(max_length=128)
    n = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_id", "kind", "value"], name="account_value_count_unique")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind}:{self.value} ({self.n})"
