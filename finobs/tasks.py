"""Celery tasks of the wiring: work that spans apps."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def retention_prune_task() -> dict:
    """Daily: prune the tables that only grow (finobs.retention)."""
    from finobs.retention import retention_prune

    return retention_prune()
