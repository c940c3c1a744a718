"""Scoring's models, one module per concept."""

from scoring.models.monitoring import CalibrationRequest, DriftReport, Experiment, RetrainRun, ThresholdCalibration
from scoring.models.profiles import AccountProfile, AccountValueCount, CounterpartySender
from scoring.models.registry import ModelVersion, PromotionRequest
from scoring.models.rules import Rule, RuleActivation
from scoring.models.transactions import RISK_ORDER, Decision, JSONTextField, Label, RiskLevel, Transaction

__all__ = [
    "RISK_ORDER",
    "AccountProfile",
    "AccountValueCount",
    "CalibrationRequest",
    "CounterpartySender",
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
    "ThresholdCalibration",
    "Transaction",
]
