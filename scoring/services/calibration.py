"""Recalibrating the champion's thresholds to the alert budget: stored, audited, bounded, four-eyes beyond the bound.

Each run (the calibration task every CALIBRATION_EVERY_S, or `manage.py recalibrate_thresholds`) reads the
champion's scores of the window (its last CALIBRATION_WINDOW_DECISIONS decisions within
CALIBRATION_WINDOW_DAYS, since it became champion) and stores a ThresholdCalibration:
  * while the window has not filled since the champion's promotion, nothing: the training thresholds hold;
  * with fewer than CALIBRATION_MIN_DECISIONS, nothing;
  * a move of at most CALIBRATION_APPROVAL_STEP: applied at once (`model.thresholds_recalibrated`);
  * a larger one: stored as proposed (`model.thresholds_proposed`); a person asks for it to be applied and a
    second one approves (approvals, kind `threshold_calibration`), as for a promotion. A newer proposal
    supersedes an undecided one.
Applying one sets the version's live_thresholds, which every process' scorer picks up on its next batch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals.kinds import ApprovalKind
from approvals.services import approval_request, approvals_supersede
from audit.services import audit_log
from kernel.errors import Conflict
from kernel.events import publish
from scoring.calibration import CalibrationPolicy, propose
from scoring.models import CalibrationRequest, Decision, ModelVersion, ThresholdCalibration

CALIBRATE_PERMISSION = "scoring.promote_model"  # who may promote a model may ask for and approve thresholds


def thresholds_recalibrate(
    *, actor="system:calibration", policy: CalibrationPolicy | None = None, now: datetime | None = None
) -> ThresholdCalibration | None:
    """Recalibrate the current organisation's champion (see the module); returns what was stored, if anything."""
    policy = policy or CalibrationPolicy.from_settings()
    now = now or timezone.now()
    champion = (
        ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).defer(*ModelVersion.HEAVY_FIELDS).first()
    )
    if champion is None:
        return None
    since = champion.promoted_at or champion.created_at
    window_from = max(since, now - timedelta(days=policy.window_days))
    rows = list(
        Decision.objects.filter(model_version=champion, created_at__gte=window_from, created_at__lte=now)
        .order_by("-created_at", "-transaction_id")
        .values_list("score", "created_at")[: policy.window_decisions]
    )
    is_full = len(rows) >= policy.window_decisions or now - since >= timedelta(days=policy.window_days)
    if not is_full:
        return None  # a cold start or a new champion: its training thresholds hold until the window fills
    current = {name: float(value) for name, value in champion.thresholds_in_force.items()}
    proposal = propose(current, np.asarray([r[0] for r in rows]), policy)
    if proposal is None:
        return None
    with transaction.atomic():
        champion = ModelVersion.objects.select_for_update().defer(*ModelVersion.HEAVY_FIELDS).get(pk=champion.pk)
        if champion.status != ModelVersion.Status.CHAMPION:
            return None  # promoted away while the window was read
        pending = ThresholdCalibration.objects.filter(
            model_version=champion, status=ThresholdCalibration.Status.PROPOSED
        )
        _supersede(pending, reason="a newer recalibration replaces it")
        calibration = ThresholdCalibration.objects.create(
            model_version=champion,
            status=ThresholdCalibration.Status.PROPOSED,
            created_at=now,
            previous=current,
            thresholds=proposal.thresholds,
            target=proposal.target,
            window_start=min(r[1] for r in rows),
            window_end=max(r[1] for r in rows),
            n_decisions=proposal.n_decisions,
            observed_alert_rate=proposal.observed_alert_rate,
            expected_alert_rate=proposal.expected_alert_rate,
            alert_budget=policy.budget,
            largest_move=proposal.largest_move,
        )
        if proposal.needs_approval:
            _record(calibration, "model.thresholds_proposed", actor)
        else:
            _apply_locked(calibration, champion, actor=actor)
    return calibration


def calibration_request(
    *, calibration: ThresholdCalibration, actor: AbstractBaseUser, reason: str = ""
) -> CalibrationRequest:
    """Ask for a proposed recalibration to be applied; another person with the permission approves it."""
    if calibration.status != ThresholdCalibration.Status.PROPOSED:
        raise Conflict(
            f"This recalibration is {calibration.get_status_display().lower()}, not awaiting approval.",
            code="calibration_not_proposed",
        )
    return approval_request(kind=CALIBRATION, actor=actor, calibration=calibration, reason=reason)


def _approved(request: CalibrationRequest, actor) -> None:
    calibration = ThresholdCalibration.objects.select_for_update().get(pk=request.calibration_id)
    champion = (
        ModelVersion.objects.select_for_update().defer(*ModelVersion.HEAVY_FIELDS).get(pk=calibration.model_version_id)
    )
    if calibration.status != ThresholdCalibration.Status.PROPOSED or champion.status != ModelVersion.Status.CHAMPION:
        raise Conflict("This recalibration no longer applies (superseded, or its model is not the champion).",
                       code="calibration_stale")  # fmt: skip
    _apply_locked(calibration, champion, actor=actor, approved_request=request)


def _rejected(request: CalibrationRequest, actor) -> None:
    ThresholdCalibration.objects.filter(pk=request.calibration_id, status=ThresholdCalibration.Status.PROPOSED).update(
        status=ThresholdCalibration.Status.REJECTED
    )


def _apply_locked(calibration: ThresholdCalibration, champion: ModelVersion, *, actor, approved_request=None) -> None:
    """Put the calibration's thresholds in force. Holds the champion's row lock (the caller's)."""
    now = timezone.now()
    champion.live_thresholds = calibration.thresholds
    champion.calibrated_at = now
    champion.save(update_fields=["live_thresholds", "calibrated_at"])
    calibration.status = ThresholdCalibration.Status.APPLIED
    calibration.applied_at = now
    calibration.save(update_fields=["status", "applied_at"])
    _record(calibration, "model.thresholds_recalibrated", actor, approved_request=getattr(approved_request, "pk", None))


def calibrations_supersede_for(model_version: ModelVersion) -> None:
    """A version that stops being champion: its proposals can no longer be applied."""
    _supersede(
        ThresholdCalibration.objects.filter(model_version=model_version, status=ThresholdCalibration.Status.PROPOSED),
        reason=f"v{model_version.version} is no longer the champion",
    )


def _supersede(calibrations, *, reason: str) -> None:
    ids = list(calibrations.values_list("pk", flat=True))
    if not ids:
        return
    approvals_supersede(requests=CalibrationRequest.objects.filter(calibration_id__in=ids), reason=reason)
    ThresholdCalibration.objects.filter(pk__in=ids).update(status=ThresholdCalibration.Status.SUPERSEDED)


def _record(calibration: ThresholdCalibration, action: str, actor, **extra) -> None:
    payload = {
        "calibration_id": calibration.pk,
        "version": calibration.model_version.version,
        "previous": calibration.previous,
        "thresholds": calibration.thresholds,
        "n_decisions": calibration.n_decisions,
        "observed_alert_rate": round(calibration.observed_alert_rate, 5),
        "expected_alert_rate": round(calibration.expected_alert_rate, 5),
        "alert_budget": calibration.alert_budget,
        **extra,
    }
    audit_log(actor=actor, action=action, object_type="scoring.ThresholdCalibration", object_id=calibration.pk,
              payload=payload)  # fmt: skip
    publish(action, payload)


CALIBRATION = ApprovalKind(
    model=CalibrationRequest,
    name="threshold_calibration",
    label="Threshold recalibration",
    request_permission=CALIBRATE_PERMISSION,
    decide_permission=CALIBRATE_PERMISSION,
    visible_to=lambda user: CalibrationRequest.objects.select_related("calibration__model_version").defer(
        *ModelVersion.heavy_fields("calibration__model_version")
    ),
    subject=lambda request: (
        f"thresholds of v{request.calibration.model_version.version}",
        reverse("admin:scoring_thresholdcalibration_change", args=[request.calibration_id]),
    ),
    summary=lambda request: (
        f"Move v{request.calibration.model_version.version}'s HIGH threshold from "
        f"{request.calibration.previous['high']:.4f} to {request.calibration.thresholds['high']:.4f} "
        f"(alert rate {request.calibration.observed_alert_rate:.2%} against a budget of "
        f"{request.calibration.alert_budget:.2%})" + (f": {request.reason}" if request.reason else "")
    ),
    on_approved=_approved,
    on_rejected=_rejected,
)
