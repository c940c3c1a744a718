"""Celery tasks: thin, idempotent wrappers around scoring's services."""

from celery import shared_task

from organisations.context import for_each_organisation, organisation_context
from scoring.inference import NoChampionModel
from scoring.services.explanations import decisions_explain
from scoring.services.monitoring import drift_check, model_retrain


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
def retrain_task(reason: str = "", user_id: int | None = None, organisation_id: int | None = None) -> int:
    """Retrain the champion of the organisation that asked (the one the task runs in, unless named)."""
    if organisation_id is not None:
        from organisations.models import Organisation

        with organisation_context(Organisation.objects.get(pk=organisation_id)):
            return _retrain(reason, user_id)
    return _retrain(reason, user_id)


def _retrain(reason: str, user_id: int | None) -> int:
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return model_retrain(actor=actor or "system:retrain", reason=reason).pk
