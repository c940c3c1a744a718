"""Celery tasks of evidence: thin wrappers over its services."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def export_run_task(record_id: int) -> None:
    """Build a queued export's bundle (idempotent: a finished export is left alone)."""
    from evidence.services import export_run

    export_run(record_id=record_id)
