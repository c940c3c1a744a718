"""Measuring a model version on labelled data, with the rules applied exactly as serving applies them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.features import build_feature_frame
from scoring.generator import GeneratedSet, generate, records_to_transactions
from scoring.inference import FLAG_THRESHOLD, RISK_THRESHOLDS, Scorer
from scoring.models import RiskLevel, Rule
from scoring.rule_engine import DEFAULT_RULES, evaluate_rules
from scoring.training import evaluate

EVALUATION_SOURCE = "evaluation"
_LEVELS_BY_ORDER = np.array([RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL], dtype=object)


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


def evaluate_stress(scorer: Scorer, generated: GeneratedSet, *, rules: Sequence[Rule], policy=None) -> dict:
    """The stress report: the stream scored in time order as serving would, its thresholds recalibrated at
    the end of each day from the window of scores before it (scoring.calibration, approvals granted), from
    the training thresholds while the window fills. Per pattern recall over the whole stream; alert rates
    (model alone, model + rules) from the day the window filled."""
    from scoring.calibration import CalibrationPolicy, is_window_full, propose, window_mask

    policy = policy or CalibrationPolicy.from_settings()
    transactions = records_to_transactions(generated.records, source=EVALUATION_SOURCE)
    frame = build_feature_frame(transactions)
    scores = scorer.score(frame.matrix)
    seconds = frame._payments.query_s  # relative seconds, ascending (the set is in time order)
    day = np.floor((seconds - seconds[0]) / 86_400).astype(int) if len(seconds) else np.empty(0, int)
    cuts = np.empty((len(scores), len(RISK_THRESHOLDS)))
    current = dict(scorer.thresholds)
    recalibrations, approvals, filled_from = 0, 0, None
    for d in range(int(day.max(initial=-1)) + 1):
        rows = day == d
        cuts[rows] = [current[name] for name in RISK_THRESHOLDS]
        seen = day <= d
        now = float(seconds[rows].max(initial=seconds[seen].max()))
        if filled_from is None and is_window_full(seconds[seen], float(seconds[0]), now, policy):
            filled_from = d + 1
        if filled_from is None:
            continue  # a cold start: the training thresholds hold until the window has filled
        in_window = window_mask(seconds[seen], now, policy)
        proposal = propose(current, scores[seen][in_window], policy)
        if proposal is not None:
            recalibrations += 1
            approvals += proposal.needs_approval
            current = proposal.thresholds
    levels = _LEVELS_BY_ORDER[(scores[:, None] >= cuts).sum(axis=1)]
    model_flagged = scores >= cuts[:, RISK_THRESHOLDS.index(FLAG_THRESHOLD)]
    outcome = evaluate_rules(rules, frame, levels, model_flagged)
    measured = evaluate(scores, generated.labels, {}, flagged=outcome.flagged, patterns=generated.patterns)
    after = day >= (filled_from if filled_from is not None else day.max(initial=0) + 1)
    return {
        "n": measured["n"],
        "n_fraud": measured["n_fraud"],
        "alert_budget": policy.budget,
        "recall": measured["recall"],
        "precision": measured["precision"],
        "recall_by_pattern": measured["recall_by_pattern"],
        "window_filled_day": filled_from,
        "n_after_fill": int(after.sum()),
        "model_alert_rate": flag_rate(model_flagged[after]),
        "alert_rate": flag_rate(outcome.flagged[after]),
        "rules_added_rate": flag_rate((outcome.flagged & ~model_flagged)[after]),
        "recalibrations": recalibrations,
        "approvals": int(approvals),
        "thresholds": current,
        "training_thresholds": dict(scorer.thresholds),
    }
