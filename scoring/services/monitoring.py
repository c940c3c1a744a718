"""Drift reports against the champion's training reference, and retraining on recent stored traffic."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_log
from kernel.events import publish
from organisations.context import require_organisation_id
from organisations.models import organisation_setting
from scoring.drift import compare
from scoring.inference import NoChampionModel, scorer_for
from scoring.models import Decision, DriftReport, Label, ModelVersion, RetrainRun, Transaction
from scoring.services.retraining import retrain_run_queue

RETRAIN_HOLDOUT_SHARE = 0.2  # the most recent fifth of the window measures candidate and champion alike


def drift_check(*, actor=None, window: int | None = None) -> DriftReport:
    """Compare the champion's last `window` decisions with its training reference and store a DriftReport.

    When the score or DRIFT_RETRAIN_MIN_FEATURES features drifted, retraining is enqueued after commit, unless
    one was asked for in the last DRIFT_RETRAIN_COOLDOWN_H hours (and did not fail): one drift episode gives the
    reviewers one candidate, not one per check.
    """
    window = window or organisation_setting("DRIFT_WINDOW")
    champion = (
        ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).defer("artifact", "explainer_artifact").first()
    )
    if champion is None:
        raise NoChampionModel("No champion model: nothing to check for drift.")
    rows = list(
        Decision.objects.filter(model_version=champion, features__isnull=False)
        .order_by("-created_at", "-transaction_id")
        .values_list("features", "score", "created_at", "flagged")[:window]
    )
    reference = champion.drift_reference or {}
    high = float(champion.thresholds_in_force["high"])
    results: dict = {}
    if rows and reference.get("features"):
        X = np.asarray([r[0] for r in rows], dtype=np.float64)
        results = compare(reference, X, np.asarray([r[1] for r in rows]))
    drifted = sorted(name for name, r in results.items() if r["drifted"] and name != "score")
    is_drifted = bool(results) and (
        results["score"]["drifted"] or len(drifted) >= organisation_setting("DRIFT_RETRAIN_MIN_FEATURES")
    )
    starts_retraining = is_drifted and not _retraining_recently_requested()
    with transaction.atomic():
        report = DriftReport.objects.create(
            model_version=champion,
            created_at=timezone.now(),
            window_size=len(rows),
            window_start=min((r[2] for r in rows), default=None),
            window_end=max((r[2] for r in rows), default=None),
            results=results,
            drifted_features=drifted,
            is_drifted=is_drifted,
            retraining_started=starts_retraining,
            alert_rate=float(np.mean([r[3] for r in rows])) if rows else None,
            model_alert_rate=float(np.mean([r[1] >= high for r in rows])) if rows else None,
            alert_budget=settings.ALERT_BUDGET,
        )
        payload = {"report_id": report.pk, "version": champion.version, "window": len(rows),
                   "is_drifted": is_drifted, "drifted_features": drifted,
                   "score_psi": results.get("score", {}).get("psi"), "alert_rate": report.alert_rate,
                   "model_alert_rate": report.model_alert_rate, "alert_budget": report.alert_budget}  # fmt: skip
        audit_log(actor=actor, action="model.drift_checked", object_type="scoring.DriftReport", object_id=report.pk,
                  payload=payload)  # fmt: skip
        if is_drifted:
            publish("model.drift_detected", payload)
        if starts_retraining:
            retrain_run_queue(reason=f"drift report {report.pk}")
    return report


def _retraining_recently_requested() -> bool:
    since = timezone.now() - timedelta(hours=settings.DRIFT_RETRAIN_COOLDOWN_H)
    return RetrainRun.objects.filter(created_at__gte=since).exclude(status=RetrainRun.Status.FAILED).exists()


def model_retrain_request(*, actor, reason: str) -> RetrainRun:
    """Ask a worker to retrain (model_retrain) after commit; audited as requested by `actor`."""
    require_organisation_id()
    with transaction.atomic():
        run = retrain_run_queue(reason=reason, requested_by=actor if getattr(actor, "pk", None) else None)
        audit_log(actor=actor, action="model.retrain_requested", object_type="scoring.ModelVersion", object_id="",
                  payload={"reason": reason, "retrain_run": run.pk})  # fmt: skip
    return run


def model_retrain(*, actor=None, reason: str = "", n_estimators: int = 100, progress=None) -> ModelVersion:
    """Train a candidate on the last RETRAIN_WINDOW_DAYS of stored traffic, measure it against the champion
    on the same held-out window (the most recent fifth), register it, and notify. Known fraud (labels from
    case outcomes) is kept out of the unsupervised detectors' training and measures the models where present.

    With at least SUPERVISED_MIN_POSITIVES fraud labels in the training part of the window, a second
    candidate is registered from the same detectors plus the supervised classifier (fraud against every
    other row of the training part), measured on the same held-out window: the leaderboard then ranks the
    two side by side, and either is promoted through four-eyes like any candidate. The supervised one is
    returned. Fewer labels: the unsupervised candidate alone.

    Fewer than RETRAIN_MIN_ROWS stored rows: the generator's traffic of the shipped default model's size
    (DEFAULT_MODEL_TRAINING, with a seed of its own) is used instead, and the version's params say so.
    Promotes only with AUTO_PROMOTE and a held-out F1 (or, without labels, alert rate closer to the target) at
    least the champion's.

    `progress(percent, stage)`, when given, hears how far it is (the retraining run's page shows it).
    """
    from scoring.evaluation import serving_rules
    from scoring.features import build_feature_frame
    from scoring.rule_engine import evaluate_rules
    from scoring.services.registry import model_promote, model_register, model_train, registry_fields, unsaved_scorer
    from scoring.training import Labelled, evaluate, fit_detectors, train_ensemble

    progress = progress or (lambda percent, stage: None)
    started = time.perf_counter()
    seed = int(time.time()) % 2**31
    progress(2, "reading the stored transactions")
    since = timezone.now() - timedelta(days=organisation_setting("RETRAIN_WINDOW_DAYS"))
    rows = list(
        Transaction.objects.filter(occurred_at__gte=since).order_by("occurred_at", "id")[: settings.RETRAIN_MAX_ROWS]
    )
    if len(rows) < settings.RETRAIN_MIN_ROWS:
        progress(10, f"training on generated traffic ({len(rows):,} stored transactions are too few)")
        sizes = {key: settings.DEFAULT_MODEL_TRAINING[key] for key in ("n_accounts", "days")}
        return model_train(actor=actor, make_champion=False, n_estimators=n_estimators, seed=seed, **sizes)
    progress(10, f"building the features of {len(rows):,} transactions")
    frame = build_feature_frame(rows)
    labels = np.array([t.label for t in rows], dtype=object)
    split = int(len(rows) * (1 - RETRAIN_HOLDOUT_SHARE))
    train_mask = np.zeros(len(rows), bool)
    train_mask[:split] = labels[:split] != Label.FRAUD
    progress(25, f"training the isolation forest and detectors on {int(train_mask.sum()):,} rows")
    detectors = fit_detectors(frame.matrix[train_mask], seed=seed, n_estimators=n_estimators)
    training_data = {
        "source": "stored transactions",
        "since": since.isoformat(),
        "rows": int(train_mask.sum()),
        "holdout_rows": len(rows) - split,
        "reason": reason,
    }
    positives = int(np.sum(labels[:split] == Label.FRAUD))
    progress(45, "training the ensemble and exporting ONNX")
    trained = {"candidate": train_ensemble(frame.matrix[train_mask], seed=seed, detectors=detectors)}
    if positives >= settings.SUPERVISED_MIN_POSITIVES:
        progress(60, f"training the supervised candidate on {positives:,} fraud labels and exporting ONNX")
        trained["candidate_supervised"] = train_ensemble(
            frame.matrix[train_mask],
            seed=seed,
            detectors=detectors,
            supervised=Labelled(frame.matrix[:split], labels[:split] == Label.FRAUD),
            supervised_weight=settings.SUPERVISED_WEIGHT,
        )
    training_txns = [rows[i] for i in np.flatnonzero(train_mask)]
    fields = {
        name: registry_fields(
            model,
            training_txns,
            training_data={**training_data, "labelled_rows": split, "positives": positives}
            if model.classifier is not None
            else training_data,
            actor=actor,
        )
        for name, model in trained.items()
    }
    holdout = slice(split, len(rows))
    rules = serving_rules()
    known = labels[holdout] != Label.UNKNOWN
    comparison = {}
    champion = ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).first()
    scorers = {name: unsaved_scorer(f) for name, f in fields.items()} | {"champion": champion and scorer_for(champion)}
    for step, (name, scorer) in enumerate(scorers.items()):
        if scorer is None:
            continue
        progress(
            75 + 15 * step // len(scorers),
            f"evaluating the {name.replace('_', ' ')} on {len(rows) - split:,} held-out rows",
        )
        scores = scorer.score(frame.matrix[holdout])
        outcome = evaluate_rules(rules, frame.take(holdout), scorer.risk_levels(scores), scorer.flagged(scores))
        result = {"alert_rate": round(float(outcome.flagged.mean()), 4), "n": len(scores)}
        if known.any() and (labels[holdout][known] == Label.FRAUD).any():
            result |= evaluate(scores[known], labels[holdout][known] == Label.FRAUD, scorer.thresholds,
                               flagged=outcome.flagged[known])  # fmt: skip
        comparison[name] = result
    progress(92, "registering the candidate")
    registered = {}
    for name, model_fields in fields.items():
        model_fields["metrics"] = {"holdout": comparison[name], "comparison": comparison,
                                   "total_seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
        registered[name] = model_register(fields=model_fields, actor=actor, event="model.retrained")
    if settings.AUTO_PROMOTE:
        best = max(registered, key=lambda name: _rank(comparison[name], trained[name]))
        if _beats(comparison[best], comparison.get("champion"), trained[best]):
            model_promote(model_version=registered[best], actor=actor or "system:auto_promote")
    return registered.get("candidate_supervised") or registered["candidate"]


def _rank(result: dict, trained) -> float:
    if "f1" in result:
        return result["f1"]
    return -abs(result["alert_rate"] - trained.params["contamination_target"])


def _beats(candidate: dict | None, champion: dict | None, trained) -> bool:
    if champion is None:
        return True
    if "f1" in candidate and "f1" in champion:
        return candidate["f1"] >= champion["f1"]
    target = trained.params["contamination_target"]
    return abs(candidate["alert_rate"] - target) <= abs(champion["alert_rate"] - target)
