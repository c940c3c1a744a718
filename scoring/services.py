"""Scoring's business operations: score a batch, train and register models, promote them, record labels."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import audit_log
from scoring.features import FEATURE_NAMES, build_features
from scoring.generator import generate, records_to_transactions
from scoring.inference import champion_scorer, make_session, normalise_scores, raw_anomaly_scores
from scoring.models import Decision, Label, ModelVersion, Transaction

logger = logging.getLogger(__name__)

SYNTHETIC_SOURCE = "synthetic"
# The held-out set comes from a different seed, so no account, merchant or event is shared with training.
HOLDOUT_SEED_OFFSET = 1_000_003
REGISTER_ATTEMPTS = 3
LABEL_UPDATE_CHUNK = 5_000


@dataclass
class BatchScore:
    model_version: ModelVersion
    scores: np.ndarray  # 0..1 per transaction, higher = more anomalous
    risk_levels: list[str]  # RiskLevel values
    flagged: np.ndarray  # bool, score >= the model's HIGH threshold
    latency_ms: float  # per item: the batch's features + model time divided by its size
    features: np.ndarray  # the model's input, one row per transaction (stored for similarity search)

    def decisions(self, transactions: Sequence[Transaction], *, created_at) -> list[Decision]:
        """Unsaved Decisions for `transactions` (saved, so each has its id), in the same order."""
        return [
            Decision(
                transaction=txn,
                model_version=self.model_version,
                score=float(self.scores[i]),
                risk_level=self.risk_levels[i],
                flagged=bool(self.flagged[i]),
                rule_hits=[],
                features=[round(float(v), 6) for v in self.features[i]],
                latency_ms=self.latency_ms,
                created_at=created_at,
            )
            for i, txn in enumerate(transactions)
        ]


def score_batch(transactions: Sequence[Transaction]) -> BatchScore:
    """Score a batch with the champion: features for the whole batch, then one onnxruntime call.

    Raises scoring.inference.NoChampionModel when no model is promoted.
    """
    scorer = champion_scorer()
    started = time.perf_counter()
    features = build_features(transactions)
    scores = scorer.score(features)
    risk_levels = scorer.risk_levels(scores)
    flagged = scorer.flagged(scores)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return BatchScore(
        model_version=scorer.model_version,
        scores=scores,
        risk_levels=risk_levels,
        flagged=flagged,
        latency_ms=elapsed_ms / max(len(transactions), 1),
        features=features,
    )


def model_train(
    *,
    n_accounts: int = 2000,
    days: int = 30,
    seed: int = 7,
    actor: AbstractBaseUser | str | None = None,
    make_champion: bool = True,
    n_estimators: int = 100,
    fraud_rate: float = 0.015,
) -> ModelVersion:
    """Train an IsolationForest on generated traffic, evaluate it on a held-out set, and register it.

    Training is unsupervised on all traffic (labels are not used, as in production where most are
    unknown); the held-out set's labels only measure it. With `make_champion`, the new version
    replaces the champion in the same transaction that registers it.
    """
    from scoring.training import evaluate, train_isolation_forest  # scikit-learn only where training runs

    started = time.perf_counter()
    training_set = generate(n_accounts=n_accounts, days=days, seed=seed, fraud_rate=fraud_rate)
    training_txns = records_to_transactions(training_set.records, source=SYNTHETIC_SOURCE)
    trained = train_isolation_forest(build_features(training_txns), seed=seed, n_estimators=n_estimators)
    fit_s = time.perf_counter() - started

    holdout_seed = seed + HOLDOUT_SEED_OFFSET
    holdout = generate(n_accounts=max(n_accounts // 2, 100), days=days, seed=holdout_seed, fraud_rate=fraud_rate)
    holdout_features = build_features(records_to_transactions(holdout.records, source=SYNTHETIC_SOURCE))
    # Measured through the exported model, exactly as serving will score.
    raw = raw_anomaly_scores(make_session(trained.onnx_bytes), holdout_features)
    holdout_scores = normalise_scores(raw, trained.score_reference)
    metrics = {
        "holdout": evaluate(holdout_scores, holdout.labels, trained.thresholds, patterns=holdout.patterns),
        "training_alert_rates": trained.training_alert_rates,
        "fit_seconds": round(fit_s, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    occurred = [t.occurred_at for t in training_txns]
    fields = {
        "algorithm": trained.algorithm,
        "artifact": trained.onnx_bytes,
        "artifact_sha256": hashlib.sha256(trained.onnx_bytes).hexdigest(),
        "feature_names": list(FEATURE_NAMES),
        "params": {
            **trained.params,
            "training_data": {
                "generator": "scoring.generator",
                "n_accounts": n_accounts,
                "days": days,
                "seed": seed,
                "fraud_rate": fraud_rate,
                "holdout_seed": holdout_seed,
            },
        },
        "score_reference": trained.score_reference,
        "thresholds": trained.thresholds,
        "training_window_start": min(occurred),
        "training_window_end": max(occurred),
        "training_size": len(training_txns),
        "metrics": metrics,
        "created_by": _user_or_none(actor),
    }
    for attempt in range(1, REGISTER_ATTEMPTS + 1):
        try:
            return _register(fields, actor=actor, make_champion=make_champion)
        except IntegrityError:
            # Another registration took the same version number (or promoted concurrently): renumber and retry.
            if attempt == REGISTER_ATTEMPTS:
                raise
            logger.warning("model registration collided (attempt %d), retrying", attempt)
    raise AssertionError("unreachable")


def model_promote(*, model_version: ModelVersion, actor: AbstractBaseUser | str | None = None) -> ModelVersion:
    """Make `model_version` the champion and retire the previous one, atomically. A no-op if it already is."""
    with transaction.atomic():
        return _promote_locked(model_version, actor=actor)


def record_labels(*, transaction_ids: Sequence[int], label: str, actor: AbstractBaseUser | str | None = None) -> int:
    """Set the ground-truth label (from a case outcome) on transactions; returns how many were updated."""
    if label not in Label.values:
        raise ValidationError(
            {"label": f"Unknown label {label!r}; expected one of {', '.join(Label.values)}."}, code="invalid"
        )
    try:
        ids = sorted({int(i) for i in transaction_ids})
    except (TypeError, ValueError) as exc:
        raise ValidationError({"transaction_ids": "Transaction ids must be integers."}, code="invalid") from exc
    if not ids:
        return 0
    with transaction.atomic():
        updated = sum(
            Transaction.objects.filter(pk__in=ids[i : i + LABEL_UPDATE_CHUNK]).update(label=label)
            for i in range(0, len(ids), LABEL_UPDATE_CHUNK)
        )
        audit_log(
            actor=actor,
            action="transaction.labelled",
            object_type="scoring.Transaction",
            object_id=ids[0] if len(ids) == 1 else "",
            payload={"label": label, "transaction_ids": ids, "updated": updated},
        )
    return updated


def _register(fields: dict, *, actor, make_champion: bool) -> ModelVersion:
    with transaction.atomic():
        version = (ModelVersion.objects.aggregate(latest=Max("version"))["latest"] or 0) + 1
        model_version = ModelVersion.objects.create(version=version, **fields)
        audit_log(
            actor=actor,
            action="model.trained",
            object_type="scoring.ModelVersion",
            object_id=model_version.pk,
            payload={
                "version": version,
                "algorithm": model_version.algorithm,
                "artifact_sha256": model_version.artifact_sha256,
                "training_size": model_version.training_size,
                "holdout": {
                    k: v for k, v in fields["metrics"]["holdout"].items() if k in {"precision", "recall", "alert_rate"}
                },
            },
        )
        if make_champion:
            _promote_locked(model_version, actor=actor)
        return model_version


def _promote_locked(model_version: ModelVersion, *, actor) -> ModelVersion:
    """Core of model_promote. Runs inside the caller's atomic block and locks the current champion row
    (select_for_update); the one_champion_model constraint backs it up against a concurrent promotion."""
    previous = list(
        ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.CHAMPION).only("id", "version")
    )
    if [p.pk for p in previous] == [model_version.pk]:
        model_version.status = ModelVersion.Status.CHAMPION
        return model_version
    # Retire first: the partial unique index allows one champion at any moment, even inside a transaction.
    ModelVersion.objects.filter(pk__in=[p.pk for p in previous]).update(status=ModelVersion.Status.RETIRED)
    model_version.status = ModelVersion.Status.CHAMPION
    model_version.promoted_at = timezone.now()
    model_version.promoted_by = _user_or_none(actor)
    model_version.save(update_fields=["status", "promoted_at", "promoted_by"])
    audit_log(
        actor=actor,
        action="model.promoted",
        object_type="scoring.ModelVersion",
        object_id=model_version.pk,
        payload={"version": model_version.version, "previous_versions": [p.version for p in previous]},
    )
    return model_version


def _user_or_none(actor) -> AbstractBaseUser | None:
    return actor if isinstance(actor, AbstractBaseUser) and actor.pk else None
