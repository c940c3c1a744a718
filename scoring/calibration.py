"""Alert-budget calibration: thresholds recomputed from the champion's own recent scores.

A model's thresholds come from its training traffic (1.5% of it above HIGH). Live traffic never looks like
that, so the share flagged drifts away from what analysts can work. Recalibration places each threshold at
the quantile of the recent scores that flags the budgeted share (ALERT_BUDGET at HIGH; the other levels
keep their training ratios to it), over a rolling window (the last N decisions within D days), moving a
threshold at most `max_step` per recalibration and not at all on fewer than `min_decisions` decisions. A
move beyond `approval_step` is only proposed: it needs four-eyes (scoring.services.calibration).

Pure numpy: the service stores and audits, the stress evaluation replays the same steps over a stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from scoring.inference import RISK_THRESHOLDS

# Share of traffic above each threshold, relative to the budget (the HIGH share): with a 1.5% budget, 4.5%
# MEDIUM or above, 1.5% HIGH or above (flagged), 0.375% CRITICAL. Training uses the same ratios.
ALERT_RATE_FACTORS = {"medium": 3.0, "high": 1.0, "critical": 0.25}


@dataclass(frozen=True)
class CalibrationPolicy:
    budget: float  # target flagged share from the model (ALERT_BUDGET)
    window_decisions: int  # N: at most this many of the latest decisions
    window_days: float  # D: ... made within this many days
    min_decisions: int  # M: no recalibration on fewer
    max_step: float  # the most a threshold moves in one recalibration, in score units
    approval_step: float  # a move beyond this (in any threshold) needs four-eyes

    @classmethod
    def from_settings(cls) -> CalibrationPolicy:
        return cls(
            budget=settings.ALERT_BUDGET,
            window_decisions=settings.CALIBRATION_WINDOW_DECISIONS,
            window_days=settings.CALIBRATION_WINDOW_DAYS,
            min_decisions=settings.CALIBRATION_MIN_DECISIONS,
            max_step=settings.CALIBRATION_MAX_STEP,
            approval_step=settings.CALIBRATION_APPROVAL_STEP,
        )


@dataclass(frozen=True)
class Proposal:
    thresholds: dict[str, float]  # where the thresholds go, each within max_step of the current ones
    target: dict[str, float]  # where the budget alone would put them
    observed_alert_rate: float  # share of the window at or above the current HIGH threshold
    expected_alert_rate: float  # share of the window at or above the proposed HIGH threshold
    n_decisions: int
    largest_move: float
    needs_approval: bool


def target_thresholds(scores: np.ndarray, budget: float) -> dict[str, float]:
    """The thresholds that flag `budget` of `scores` at HIGH (and the ratios of ALERT_RATE_FACTORS)."""
    scores = np.asarray(scores, dtype=np.float64)
    return {name: float(np.quantile(scores, 1 - budget * ALERT_RATE_FACTORS[name])) for name in RISK_THRESHOLDS}


def propose(current: dict[str, float], scores: np.ndarray, policy: CalibrationPolicy) -> Proposal | None:
    """The next thresholds from the window's `scores`, or None when the window holds fewer than M decisions."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < policy.min_decisions:
        return None
    target = target_thresholds(scores, policy.budget)
    moved = [
        current[name] + float(np.clip(target[name] - current[name], -policy.max_step, policy.max_step))
        for name in RISK_THRESHOLDS
    ]
    moved = np.clip(np.maximum.accumulate(moved), 0.0, 1.0)  # medium <= high <= critical
    thresholds = dict(zip(RISK_THRESHOLDS, (float(v) for v in moved), strict=True))
    largest = max(abs(thresholds[name] - current[name]) for name in RISK_THRESHOLDS)
    return Proposal(
        thresholds=thresholds,
        target=target,
        observed_alert_rate=float(np.mean(scores >= current["high"])),
        expected_alert_rate=float(np.mean(scores >= thresholds["high"])),
        n_decisions=len(scores),
        largest_move=largest,
        needs_approval=largest > policy.approval_step,
    )


def window_mask(epoch_s: np.ndarray, now_s: float, policy: CalibrationPolicy) -> np.ndarray:
    """Which of the decisions (times ascending, all at or before now) form the window: within D days, last N."""
    inside = epoch_s >= now_s - policy.window_days * 86_400
    keep = np.flatnonzero(inside)[-policy.window_decisions :]
    mask = np.zeros(len(epoch_s), bool)
    mask[keep] = True
    return mask


def is_window_full(epoch_s: np.ndarray, since_s: float, now_s: float, policy: CalibrationPolicy) -> bool:
    """The window has filled since `since_s` (a champion's start): N decisions, or D days of them."""
    return len(epoch_s) >= policy.window_decisions or now_s - since_s >= policy.window_days * 86_400
