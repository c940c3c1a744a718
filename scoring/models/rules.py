"""Deterministic rules next to the model (their kinds and parameters: scoring.rule_engine)."""

from django.db import models
from simple_history.models import HistoricalRecords

from approvals.models import FourEyesRequest, one_pending_per
from organisations.models import OrganisationOwned
from scoring.models.transactions import RiskLevel


class Rule(OrganisationOwned):
    """A deterministic check next to the model; parameters per kind are validated by scoring.rule_engine."""

    class Kind(models.TextChoices):
        STRUCTURING = "structuring", "Structuring under a reporting threshold"
        CARD_TESTING = "card_testing", "Card-testing burst"
        HIGH_RISK_COUNTRY = "high_risk_country", "High-risk country"
        AMOUNT_OVER_LIMIT = "amount_over_limit", "Amount over limit"
        VELOCITY = "velocity", "Velocity"
        FAN_IN = "fan_in", "Fan-in to one counterparty"
        FAN_OUT = "fan_out", "Fan-out to new counterparties"
        TAKEOVER = "takeover", "Account takeover signs"
        AMOUNT_JUMP = "amount_jump", "Amount jump against the account's history"

    class Action(models.TextChoices):
        RAISE = "raise", "Raise the risk level"
        FLAG = "flag", "Force a flag"

    code = models.SlugField(max_length=64, help_text="Unique within the organisation.")
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
        constraints = [models.UniqueConstraint(fields=["organisation", "code"], name="rule_code_unique")]
        permissions = [
            ("manage_rules", "Can create and change scoring rules"),
            ("propose_rule", "Can draft a rule and ask for its activation (a second person activates it)"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.kind}, {self.action})"

    def clean(self):
        from scoring.rule_engine import validate_rule

        validate_rule(self)


class RuleActivation(FourEyesRequest):
    """Maker-checker on a drafted rule: one person asks to activate it, a second with scoring.manage_rules does."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="activation_requests")
    reason = models.TextField(blank=True, default="", help_text="Why the requester asks.")
    backtest = models.JSONField(default=dict, blank=True, help_text="The draft's backtest when activation was asked.")

    class Meta(FourEyesRequest.Meta):
        constraints = [
            *FourEyesRequest.Meta.constraints,
            one_pending_per("rule", name="one_pending_activation_per_rule"),
        ]

    def __str__(self) -> str:
        return f"activate {self.rule_id} ({self.status})"
