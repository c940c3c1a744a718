"""Celery tasks of ingestion: thin wrappers over services."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def pull_source_run_task(source_id: int, resumes: int = 0) -> None:
    """One run of a pull source (beat schedules one per source; the stale-job sweep queues one, with
    `resumes`, after a run lost its worker). Redelivery re-pulls from the stored cursor."""
    from ingestion.models import PullSource
    from ingestion.services import pull_source_run

    source = PullSource.objects.filter(pk=source_id, is_enabled=True).first()
    if source is not None:
        pull_source_run(source=source, resumes=resumes)


@shared_task(acks_late=True, ignore_result=True)
def upload_process_task(job_id: int) -> None:
    """Ingest an uploaded CSV in chunks; redelivery resumes after the rows already committed."""
    from ingestion.services import upload_process

    upload_process(job_id=job_id)


@shared_task(acks_late=True, ignore_result=True)
def idempotency_prune_task() -> int:
    """Drop Idempotency-Keys past IDEMPOTENCY_TTL_HOURS."""
    from ingestion.services.idempotency import idempotency_prune

    return idempotency_prune()
