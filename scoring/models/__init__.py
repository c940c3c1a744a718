"""Scoring's models, one module per concept."""

from scoring.models.monitoring import DriftReport, Experiment, RetrainRun
from scoring.models.profiles import AccountProfile, AccountValueCount
from scoring.models.registry import ModelVersion, PromotionRequest
from scoring.models.rules import Rule, RuleActivation
from scoring.models.transactions import RISK_ORDER, Decision, JSONTextField, Label, RiskLevel, Transaction

__all__ = [
    "RISK_ORDER",
    "AccountProfile",
    "AccountValueCount",
    "Decision",
    "DriftReport",
    "Experiment",
    "JSONTextField",
    "Label",
    "ModelVersion",
    "PromotionRequest",
    "RetrainRun",
    "RiskLevel",
    "Rule",
    "RuleActivation",
    "Transaction",
]
