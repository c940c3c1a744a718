"""Measuring a model version on labelled data, with the rules applied exactly as serving applies them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.features import build_feature_frame
from scoring.generator import GeneratedSet, generate, records_to_transactions
from scoring.inference import Scorer
from scoring.models import Rule
from scoring.rule_engine import DEFAULT_RULES, evaluate_rules
from scoring.training import evaluate

EVALUATION_SOURCE = "evaluation"


def serving_rules() -> list[Rule]:
    """The active rules, or the shipped defaults where none are stored (a fresh database, a bench)."""
    rules = list(Rule.objects.filter(is_active=True))
    return rules or default_rule_objects()


def default_rule_objects() -> list[Rule]:
    return [Rule(**spec) for spec in DEFAULT_RULES]


def evaluate_scorer(scorer: Scorer, generated: GeneratedSet, *, rules: Sequence[Rule]) -> dict:
    """Model alone and model + rules on a generated, labelled set (its own history, in memory)."""
    frame = build_feature_frame(records_to_transactions(generated.records, source=EVALUATION_SOURCE))
    scores = scorer.score(frame.matrix)
    outcome = evaluate_rules(rules, frame, scorer.risk_levels(scores), scorer.flagged(scores))
    return {
        "model": evaluate(scores, generated.labels, scorer.thresholds, patterns=generated.patterns),
        "model_and_rules": evaluate(
            scores, generated.labels, scorer.thresholds, flagged=outcome.flagged, patterns=generated.patterns
        ),
        "rules": sorted({hit["rule"] for hits in outcome.hits for hit in hits}),
    }


def holdout_set(*, n_accounts: int, days: int, seed: int, fraud_rate: float = 0.015) -> GeneratedSet:
    return generate(n_accounts=n_accounts, days=days, seed=seed, fraud_rate=fraud_rate)


def flag_rate(flagged: np.ndarray) -> float:
    return float(np.mean(flagged)) if len(flagged) else 0.0


def stress_set(*, n_accounts: int, days: int, seed: int, fraud_rate: float = 0.015) -> GeneratedSet:
    from scoring.stress import generate_stress

    return generate_stress(n_accounts=n_accounts, days=days, seed=seed, fraud_rate=fraud_rate)


def evaluate_stress(scorer: Scorer, generated: GeneratedSet, *, rules: Sequence[Rule], alert_budget: float) -> dict:
    """The stress report: per pattern recall and the alert rates (model alone, model + rules) against
    `alert_budget`, scoring the stream in time order as serving would."""
    frame = build_feature_frame(records_to_transactions(generated.records, source=EVALUATION_SOURCE))
    scores = scorer.score(frame.matrix)
    model_flagged = scorer.flagged(scores)
    outcome = evaluate_rules(rules, frame, scorer.risk_levels(scores), model_flagged)
    measured = evaluate(
        scores, generated.labels, scorer.thresholds, flagged=outcome.flagged, patterns=generated.patterns
    )
    return {
        "n": measured["n"],
        "n_fraud": measured["n_fraud"],
        "alert_budget": alert_budget,
        "model_alert_rate": flag_rate(model_flagged),
        "alert_rate": measured["alert_rate"],
        "recall": measured["recall"],
        "precision": measured["precision"],
        "recall_by_pattern": measured["recall_by_pattern"],
    }
