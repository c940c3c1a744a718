"""Celery tasks: thin, idempotent wrappers around scoring's services."""

from celery import shared_task

from organisations.context import for_each_organisation
from scoring.inference import NoChampionModel
from scoring.services.calibration import thresholds_recalibrate
from scoring.services.explanations import decisions_explain
from scoring.services.monitoring import drift_check
from scoring.services.retraining import retrain_run_execute


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def explain_decisions_task(transaction_ids: list[int]) -> int:
    return decisions_explain(transaction_ids=transaction_ids)


@shared_task(acks_late=True)
def drift_check_task() -> list[int | None]:
    """A drift check of every organisation's champion."""
    return for_each_organisation(_drift_check)


def _drift_check(organisation) -> int | None:
    try:
        return drift_check(actor="system:drift_check").pk
    except NoChampionModel:
        return None  # nothing is served yet, so nothing can drift


@shared_task(acks_late=True)
def retrain_task(run_id: int) -> int | None:
    """Train the candidate of a queued RetrainRun, in the run's organisation."""
    run = retrain_run_execute(run_id=run_id)
    return run.model_version_id if run is not None else None


@shared_task(acks_late=True)
def thresholds_recalibrate_task() -> list[int | None]:
    """Recalibrate every organisation's champion to the alert budget (idempotent: a run on the same window
    proposes the same thresholds)."""
    return for_each_organisation(_recalibrate)


def _recalibrate(organisation) -> int | None:
    calibration = thresholds_recalibrate(actor="system:calibration")
    return calibration.pk if calibration is not None else None
