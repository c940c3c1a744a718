"""The model registry: train and register versions, promote them (with four-eyes), roll back.

Every action is audited and published to the outbox (`model.trained`, `model.promoted`,
`model.rolled_back`; promotion requests as `approval.*` of kind model_promotion) inside its transaction.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from approvals.kinds import ApprovalKind
from approvals.services import approval_request, approvals_supersede
from audit.services import audit_log
from kernel.errors import Conflict
from kernel.events import publish
from kernel.mfa import require_second_factor
from scoring.features import FEATURE_NAMES, build_features
from scoring.generator import generate, records_to_transactions
from scoring.models import ModelVersion, PromotionRequest

logger = logging.getLogger(__name__)

SYNTHETIC_SOURCE = "synthetic"
# The held-out set comes from a different seed, so no account, merchant or event is shared with training.
HOLDOUT_SEED_OFFSET = 1_000_003
REGISTER_ATTEMPTS = 3
PROMOTE_PERMISSION = "scoring.promote_model"


def model_train(
    *,
    n_accounts: int = 2000,
    days: int = 30,
    seed: int = 7,
    actor: AbstractBaseUser | str | None = None,
    make_champion: bool = True,
    n_estimators: int = 100,
    fraud_rate: float = 0.015,
    supervised: bool = False,
) -> ModelVersion:
    """Train the ensemble on generated traffic, evaluate it (with the rules) on a held-out set, register it.

    Training is unsupervised on all traffic (labels are not used, as in production where most are
    unknown); the held-out set's labels only measure it. `supervised` also fits the supervised classifier
    on the generator's labels (every injected fraud known), blended with weight SUPERVISED_WEIGHT: what an
    organisation whose cases labelled its traffic gets, to measure it (`evaluate_model --stress`).
    `make_champion` promotes it in the same transaction: for bootstrapping an installation (`train_model`,
    `demo`), not for the four-eyes path.
    """
    fields = synthetic_model_fields(
        n_accounts=n_accounts,
        days=days,
        seed=seed,
        n_estimators=n_estimators,
        fraud_rate=fraud_rate,
        actor=actor,
        supervised=supervised,
    )
    return model_register(fields=fields, actor=actor, make_champion=make_champion)


def synthetic_model_fields(
    *, n_accounts: int, days: int, seed: int, n_estimators: int, fraud_rate: float, actor=None, supervised=False
) -> dict:
    """A model version's fields (not saved): the ensemble trained on generated traffic, measured on a held-out
    generated set with the shipped rules."""
    import numpy as np

    from scoring.evaluation import evaluate_scorer, serving_rules
    from scoring.training import Labelled, train_ensemble  # scikit-learn only where training runs

    started = time.perf_counter()
    training_set = generate(n_accounts=n_accounts, days=days, seed=seed, fraud_rate=fraud_rate)
    training_txns = records_to_transactions(training_set.records, source=SYNTHETIC_SOURCE)
    X = build_features(training_txns)
    labelled = Labelled(X, np.asarray(training_set.labels, dtype=bool)) if supervised else None
    trained = train_ensemble(
        X, seed=seed, n_estimators=n_estimators, supervised=labelled, supervised_weight=settings.SUPERVISED_WEIGHT
    )
    fit_s = time.perf_counter() - started
    holdout_seed = seed + HOLDOUT_SEED_OFFSET
    holdout = generate(n_accounts=max(n_accounts // 2, 100), days=days, seed=holdout_seed, fraud_rate=fraud_rate)
    fields = registry_fields(
        trained,
        training_txns,
        training_data={
            "generator": "scoring.generator",
            "n_accounts": n_accounts,
            "days": days,
            "seed": seed,
            "fraud_rate": fraud_rate,
            "holdout_seed": holdout_seed,
            **({"labels": "scoring.generator", "positives": int(labelled.is_fraud.sum())} if supervised else {}),
        },
        actor=actor,
    )
    measured = evaluate_scorer(unsaved_scorer(fields), holdout, rules=serving_rules())
    fields["metrics"] = {
        "holdout": measured["model_and_rules"],
        "holdout_model_only": measured["model"],
        "training_alert_rates": trained.training_alert_rates,
        "fit_seconds": round(fit_s, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    return fields


def registry_fields(trained, training_txns, *, training_data: dict, actor) -> dict:
    occurred = [t.occurred_at for t in training_txns]
    return {
        "algorithm": trained.algorithm,
        "artifact": trained.onnx_bytes,
        "artifact_sha256": hashlib.sha256(trained.onnx_bytes).hexdigest(),
        "explainer_artifact": trained.explainer_bytes,
        "feature_names": list(FEATURE_NAMES),
        "params": {**trained.params, "training_data": training_data},
        "score_reference": trained.score_reference,
        "thresholds": trained.thresholds,
        "drift_reference": trained.drift_reference,
        "training_window_start": min(occurred),
        "training_window_end": max(occurred),
        "training_size": len(training_txns),
        "created_by": _user_or_none(actor),
    }


def unsaved_scorer(fields: dict):
    """A Scorer for a version not registered yet (to measure it before it exists)."""
    from scoring.inference import Scorer

    return Scorer(ModelVersion(version=0, **fields))


def model_install_default(*, actor="system:organisation") -> ModelVersion:
    """Register the shipped default model (scoring.default_model) as the current organisation's champion:
    what a new organisation scores with until it retrains on its own traffic."""
    from scoring.default_model import default_model_fields

    fields = {**default_model_fields(), "created_by": _user_or_none(actor)}
    return model_register(fields=fields, actor=actor, make_champion=True, event="model.installed_default")


def model_register(*, fields: dict, actor, make_champion: bool = False, event: str = "model.trained") -> ModelVersion:
    for attempt in range(1, REGISTER_ATTEMPTS + 1):
        try:
            return _register(fields, actor=actor, make_champion=make_champion, event=event)
        except IntegrityError:
            # Another registration took the same version number (or promoted concurrently): renumber and retry.
            if attempt == REGISTER_ATTEMPTS:
                raise
            logger.warning("model registration collided (attempt %d), retrying", attempt)
    raise AssertionError("unreachable")


def model_promote(*, model_version: ModelVersion, actor: AbstractBaseUser | str | None = None) -> ModelVersion:
    """Make `model_version` the champion and retire the previous one, atomically. A no-op if it already is.

    The core every promotion path ends in (approved request, bootstrap training, AUTO_PROMOTE,
    promotion without approval when MODEL_PROMOTION_REQUIRES_APPROVAL is off); it checks no permission.
    """
    with transaction.atomic():
        return _promote_locked(model_version, actor=actor)


def promotion_request(*, model_version: ModelVersion, actor: AbstractBaseUser, reason: str = "") -> PromotionRequest:
    """Ask for `model_version` to become champion; another person with promote permission approves it."""
    require_second_factor(actor, action="Promoting a model")
    if model_version.status == ModelVersion.Status.CHAMPION:
        raise Conflict(f"v{model_version.version} is already the champion.", code="already_champion")
    return approval_request(kind=PROMOTION, actor=actor, model_version=model_version, reason=reason)


def model_promote_or_request(*, model_version: ModelVersion, actor: AbstractBaseUser, reason: str = ""):
    """What the promote button does: a request when four-eyes is on, a promotion otherwise."""
    if settings.MODEL_PROMOTION_REQUIRES_APPROVAL:
        return promotion_request(model_version=model_version, actor=actor, reason=reason)
    _require_promoter(actor)
    return model_promote(model_version=model_version, actor=actor)


def _promotion_approved(request: PromotionRequest, actor) -> None:
    _promote_locked(request.model_version, actor=actor, approved_request=request)


PROMOTION = ApprovalKind(
    model=PromotionRequest,
    name="model_promotion",
    label="Model promotion",
    request_permission=PROMOTE_PERMISSION,
    decide_permission=PROMOTE_PERMISSION,
    visible_to=lambda user: PromotionRequest.objects.select_related("model_version").defer(
        *ModelVersion.heavy_fields("model_version")
    ),
    subject=lambda request: (
        f"model v{request.model_version.version}",
        reverse("admin:scoring_modelversion_change", args=[request.model_version_id]),
    ),
    summary=lambda request: (
        f"Promote v{request.model_version.version} to champion" + (f": {request.reason}" if request.reason else "")
    ),
    on_approved=_promotion_approved,
)


def model_rollback(*, actor: AbstractBaseUser | str | None, reason: str = "") -> ModelVersion:
    """Put back the champion before the current one (the most recently promoted retired version).

    An emergency brake: one compliance person may pull it without a second approval; it is audited.
    """
    if isinstance(actor, AbstractBaseUser):
        _require_promoter(actor)
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.CHAMPION).first()
        previous = (
            ModelVersion.objects.filter(status=ModelVersion.Status.RETIRED, promoted_at__isnull=False)
            .exclude(pk=getattr(current, "pk", None))
            .defer("artifact", "explainer_artifact")
            .order_by("-promoted_at")
            .first()
        )
        if previous is None:
            raise Conflict("No earlier champion to roll back to.", code="nothing_to_roll_back")
        model_version = _promote_locked(previous, actor=actor, action="model.rolled_back", reason=reason)
    return model_version


def _register(fields: dict, *, actor, make_champion: bool, event: str) -> ModelVersion:
    with transaction.atomic():
        version = (ModelVersion.objects.aggregate(latest=Max("version"))["latest"] or 0) + 1
        model_version = ModelVersion.objects.create(version=version, **fields)
        holdout = fields.get("metrics", {}).get("holdout", {})
        payload = {
            "version": version,
            "algorithm": model_version.algorithm,
            "artifact_sha256": model_version.artifact_sha256,
            "training_size": model_version.training_size,
            "holdout": {k: v for k, v in holdout.items() if k in {"precision", "recall", "alert_rate", "pr_auc"}},
        }
        audit_log(actor=actor, action=event, object_type="scoring.ModelVersion", object_id=model_version.pk,
                  payload=payload)  # fmt: skip
        publish(event, payload)
        if make_champion:
            _promote_locked(model_version, actor=actor)
        return model_version


def _promote_locked(model_version: ModelVersion, *, actor, action: str = "model.promoted", reason: str = "",
                    approved_request: PromotionRequest | None = None) -> ModelVersion:  # fmt: skip
    """Core of the promotions. Runs inside the caller's atomic block and locks the current champion row
    (select_for_update); the one_champion_model constraint backs it up against a concurrent promotion."""
    previous = list(
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.CHAMPION).only("id", "version")
    )
    if [p.pk for p in previous] == [model_version.pk]:
        model_version.status = ModelVersion.Status.CHAMPION
        return model_version
    from scoring.services.calibration import calibrations_supersede_for

    # Retire first: the partial unique index allows one champion at any moment, even inside a transaction.
    ModelVersion.objects.filter(pk__in=[p.pk for p in previous]).update(status=ModelVersion.Status.RETIRED)
    for retired in previous:
        calibrations_supersede_for(retired)
    model_version.status = ModelVersion.Status.CHAMPION
    model_version.promoted_at = timezone.now()
    model_version.promoted_by = _user_or_none(actor)
    # A new champion starts from its training thresholds; recalibration resumes once its window has filled.
    model_version.live_thresholds = None
    model_version.calibrated_at = None
    model_version.save(update_fields=["status", "promoted_at", "promoted_by", "live_thresholds", "calibrated_at"])
    # Other requests for this version can no longer be decided as asked: it is the champion now.
    approvals_supersede(
        requests=PromotionRequest.objects.filter(model_version=model_version).exclude(
            pk=getattr(approved_request, "pk", None)
        ),
        reason=f"v{model_version.version} became the champion.",
    )
    payload = {
        "version": model_version.version,
        "previous_versions": [p.version for p in previous],
        "approved_request": getattr(approved_request, "pk", None),
        "reason": reason,
    }
    audit_log(actor=actor, action=action, object_type="scoring.ModelVersion", object_id=model_version.pk,
              payload=payload)  # fmt: skip
    publish(action, payload)
    return model_version


def _require_promoter(actor) -> None:
    if not (isinstance(actor, AbstractBaseUser) and actor.is_authenticated and actor.has_perm(PROMOTE_PERMISSION)):
        raise PermissionDenied("Only compliance officers and admins may promote models.")
    require_second_factor(actor, action="Promoting or rolling back a model")


def _user_or_none(actor) -> AbstractBaseUser | None:
    return actor if isinstance(actor, AbstractBaseUser) and actor.pk else None
