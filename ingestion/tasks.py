"""Celery tasks of ingestion: thin wrappers over services."""

from celery import shared_task

from ingestion.relay import outbox_relay
from ingestion.services.idempotency import idempotency_prune


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task() -> int:
    return outbox_relay()


# Part D: Idempotency-Key expiry
@shared_task(acks_late=True, ignore_result=True)
def idempotency_prune_task() -> int:
    return idempotency_prune()
