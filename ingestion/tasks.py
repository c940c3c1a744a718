"""Celery tasks of ingestion: thin wrappers over services."""

from celery import shared_task

from ingestion.relay import outbox_prune, outbox_relay
from ingestion.services.idempotency import idempotency_prune


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task(holds_mark: bool = False) -> int:
    """Publish the outbox: beat's catch-up run, or (holds_mark) one queued under the relay mark."""
    from ingestion.services.outbox import relay_holding_mark

    if not holds_mark:
        return outbox_relay()
    return relay_holding_mark(outbox_relay)


# --- Pull sources and CSV upload (issue 4, part B) ---------------------------------------------


@shared_task(acks_late=True, ignore_result=True)
def pull_source(source_id: int) -> None:
    """One run of a pull source (beat schedules one per source). Redelivery re-pulls from the stored cursor."""
    from ingestion.models import PullSource
    from ingestion.services import run_pull

    source = PullSource.objects.filter(pk=source_id, is_enabled=True).first()
    if source is not None:
        run_pull(source)


@shared_task(acks_late=True, ignore_result=True)
def process_upload(job_id: int) -> None:
    """Ingest an uploaded CSV in chunks; redelivery resumes after the rows already committed."""
    from ingestion.services import process_upload_job

    process_upload_job(job_id=job_id)


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


# Outbox retention (issue 4, part C)
@shared_task(acks_late=True, ignore_result=True)
def outbox_prune_task() -> int:
    return outbox_prune()


# Part D: Idempotency-Key expiry
@shared_task(acks_late=True, ignore_result=True)
def idempotency_prune_task() -> int:
    return idempotency_prune()
