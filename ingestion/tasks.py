"""Celery tasks of ingestion: thin wrappers over services."""

from celery import shared_task

from ingestion.relay import outbox_relay


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task() -> int:
    return outbox_relay()


# Callbacks (issue 4, part A): sends are idempotent (the service claims the row), so acks_late is safe.
@shared_task(acks_late=True, ignore_result=True)
def deliver_task(delivery_id: int) -> str:
    from ingestion.services.callbacks import deliver

    return deliver(delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_many_task(delivery_ids: list[int]) -> dict:
    from ingestion.services.callbacks import deliver_many

    return deliver_many(delivery_ids)


@shared_task(acks_late=True, ignore_result=True)
def deliveries_due_task() -> int:
    from ingestion.services.callbacks import deliveries_due

    return deliveries_due()
