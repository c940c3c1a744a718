"""Recalibration of the champion's thresholds to the alert budget: bounded steps, four-eyes beyond the bound,
training thresholds until the window fills; the scorer serves what is in force; the drift report's alert rate."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from approvals.services import approval_decide
from approvals.services.deciding import FourEyesViolation
from audit.models import AuditEvent
from scoring.calibration import CalibrationPolicy, propose
from scoring.inference import champion_scorer
from scoring.models import CalibrationRequest, Decision, ModelVersion, ThresholdCalibration, Transaction
from scoring.services.calibration import calibration_request, thresholds_recalibrate
from scoring.services.monitoring import drift_check
from scoring.tests.builders import copy_model_version

pytestmark = pytest.mark.django_db

POLICY = CalibrationPolicy(
    budget=0.015, window_decisions=3000, window_days=7, min_decisions=500, max_step=0.02, approval_step=0.01
)


def _decisions(model_version, scores, *, hours_ago: float = 1.0):
    """Stored decisions of `model_version` with these scores, made `hours_ago` (spread over the last hour)."""
    now = timezone.now()
    start = Transaction.objects.count()
    transactions = Transaction.objects.bulk_create(
        [
            Transaction(source="tests", external_id=f"c-{start + i}", account_id=f"a-{i % 50}", amount=Decimal("10"),
                        currency="EUR", occurred_at=now, received_at=now)
            for i in range(len(scores))
        ]
    )  # fmt: skip
    made = [now - timedelta(hours=hours_ago) + timedelta(seconds=i) for i in range(len(scores))]
    Decision.objects.bulk_create(
        [
            Decision(transaction=t, model_version=model_version, score=float(s), risk_level="LOW",
                     flagged=bool(s >= model_version.thresholds["high"]), latency_ms=0.1, created_at=at)
            for t, s, at in zip(transactions, scores, made, strict=True)
        ]
    )  # fmt: skip


def _window_filled(champion):
    """The champion became champion 8 days ago, so its 7-day window has filled."""
    ModelVersion.objects.filter(pk=champion.pk).update(promoted_at=timezone.now() - timedelta(days=8))


def test_a_step_is_bounded_and_keeps_the_levels_in_order():
    current = {"medium": 0.80, "high": 0.90, "critical": 0.95}
    scores = np.random.default_rng(0).uniform(0.9, 1.0, 5000) ** 0.2  # far more traffic above every cut
    proposal = propose(current, scores, POLICY)
    assert proposal.target["high"] > current["high"] + POLICY.max_step
    assert all(abs(proposal.thresholds[k] - current[k]) <= POLICY.max_step + 1e-12 for k in current)
    assert proposal.thresholds["medium"] <= proposal.thresholds["high"] <= proposal.thresholds["critical"]
    assert proposal.needs_approval
    assert propose(current, scores[:499], POLICY) is None  # fewer than M decisions: no recalibration


def test_thresholds_from_training_while_the_window_fills(champion):
    _decisions(champion, np.random.default_rng(1).uniform(0, 1, 1000))  # plenty of decisions...
    assert thresholds_recalibrate(policy=POLICY) is None  # ...but promoted just now: the window has not filled
    champion.refresh_from_db()
    assert champion.live_thresholds is None
    assert champion_scorer().thresholds == {k: float(v) for k, v in champion.thresholds.items()}


def test_a_small_move_is_applied_audited_and_served(champion):
    _window_filled(champion)
    high = champion.thresholds["high"]
    rng = np.random.default_rng(2)
    # 2% of the window above the training HIGH threshold: the budget's cut is a little higher.
    scores = np.where(rng.random(2000) < 0.02, rng.uniform(high, 1.0, 2000), rng.uniform(0, high - 0.01, 2000))
    _decisions(champion, scores)
    calibration = thresholds_recalibrate(policy=POLICY)
    assert calibration.status == ThresholdCalibration.Status.APPLIED
    assert calibration.observed_alert_rate == pytest.approx(np.mean(scores >= high))
    assert high < calibration.thresholds["high"] <= high + POLICY.approval_step
    assert calibration.expected_alert_rate == pytest.approx(POLICY.budget, abs=0.002)
    champion.refresh_from_db()
    assert champion.live_thresholds == calibration.thresholds
    assert champion_scorer().thresholds["high"] == pytest.approx(calibration.thresholds["high"])
    assert AuditEvent.objects.filter(action="model.thresholds_recalibrated", object_id=str(calibration.pk)).exists()


def test_a_move_beyond_the_bound_needs_four_eyes(champion, make_user):
    _window_filled(champion)
    # Half the traffic scores above the training HIGH threshold: the budget's cut is far away.
    scores = np.random.default_rng(3).uniform(champion.thresholds["high"] - 0.05, 1.0, 2000)
    _decisions(champion, scores)
    calibration = thresholds_recalibrate(policy=POLICY)
    assert calibration.status == ThresholdCalibration.Status.PROPOSED
    assert calibration.largest_move == pytest.approx(POLICY.max_step)  # one bounded step
    champion.refresh_from_db()
    assert champion.live_thresholds is None  # nothing in force before a second person approves
    assert AuditEvent.objects.filter(action="model.thresholds_proposed").exists()

    alice, bob = make_user("compliance", "alice"), make_user("org_admin", "bob")
    with pytest.raises(PermissionDenied):  # an analyst may not ask
        calibration_request(calibration=calibration, actor=make_user("analyst"))
    request = calibration_request(calibration=calibration, actor=alice, reason="alerts flood the team")
    with pytest.raises(FourEyesViolation):
        approval_decide(approval=request, actor=alice, approve=True)
    approval_decide(approval=request, actor=bob, approve=True)
    calibration.refresh_from_db()
    champion.refresh_from_db()
    assert calibration.status == ThresholdCalibration.Status.APPLIED
    assert champion.live_thresholds == calibration.thresholds
    assert CalibrationRequest.objects.get(pk=request.pk).status == "approved"


def test_a_rejected_proposal_changes_nothing_and_a_newer_one_supersedes(champion, make_user):
    _window_filled(champion)
    _decisions(champion, np.random.default_rng(4).uniform(champion.thresholds["high"] - 0.05, 1.0, 2000))
    first = thresholds_recalibrate(policy=POLICY)
    request = calibration_request(calibration=first, actor=make_user("compliance", "alice"))
    approval_decide(approval=request, actor=make_user("org_admin", "bob"), approve=False, note="wait for a week")
    first.refresh_from_db()
    assert first.status == ThresholdCalibration.Status.REJECTED
    second = thresholds_recalibrate(policy=POLICY)
    third = thresholds_recalibrate(policy=POLICY)
    second.refresh_from_db()
    assert second.status == ThresholdCalibration.Status.SUPERSEDED and third.status == "proposed"
    champion.refresh_from_db()
    assert champion.live_thresholds is None


def test_a_new_champion_starts_from_its_training_thresholds(champion):
    from scoring.services.registry import model_promote

    _window_filled(champion)
    high = champion.thresholds["high"]
    rng = np.random.default_rng(5)
    _decisions(
        champion, np.where(rng.random(2000) < 0.02, rng.uniform(high, 1, 2000), rng.uniform(0, high - 0.01, 2000))
    )
    assert thresholds_recalibrate(policy=POLICY).status == "applied"
    successor = copy_model_version(champion, live_thresholds={"medium": 0.5, "high": 0.6, "critical": 0.7})
    model_promote(model_version=successor, actor="tests")
    successor.refresh_from_db()
    assert successor.live_thresholds is None and successor.calibrated_at is None
    assert champion_scorer().thresholds["high"] == pytest.approx(successor.thresholds["high"])
    assert thresholds_recalibrate(policy=POLICY) is None  # its own window starts now


def test_the_drift_report_gives_the_alert_rate_against_the_budget(champion, settings):
    settings.ALERT_BUDGET = 0.015
    high = champion.thresholds["high"]
    _decisions(champion, np.r_[np.full(30, high + 0.001), np.full(970, high / 2)])
    Decision.objects.update(features=[0.0] * len(champion.feature_names))
    report = drift_check(window=1000)
    assert report.model_alert_rate == pytest.approx(0.03)
    assert report.alert_rate == pytest.approx(0.03)
    assert report.alert_budget == 0.015
