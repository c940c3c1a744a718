"""Celery tasks of ingestion: thin wrappers over services."""

from celery import shared_task

from ingestion.relay import outbox_prune, outbox_relay


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task() -> int:
    return outbox_relay()


@shared_task(acks_late=True, ignore_result=True)
def outbox_prune_task() -> int:
    return outbox_prune()
