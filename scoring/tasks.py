"""Celery tasks: thin, idempotent wrappers around scoring's services."""

from celery import shared_task

from scoring.services.explanations import decisions_explain
from scoring.services.monitoring import drift_check, model_retrain


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def explain_decisions_task(transaction_ids: list[int]) -> int:
    return decisions_explain(transaction_ids=transaction_ids)


@shared_task(acks_late=True)
def drift_check_task() -> int:
    return drift_check(actor="system:drift_check").pk


@shared_task(acks_late=True)
def retrain_task(reason: str = "", actor: str = "system:retrain") -> int:
    return model_retrain(actor=actor, reason=reason).pk
