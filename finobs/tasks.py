"""Celery tasks of the wiring: work that spans apps."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def retention_prune_task() -> dict:
    """Daily: prune the tables that only grow (finobs.retention)."""
    from finobs.retention import retention_prune

    return retention_prune()


@shared_task(acks_late=True, ignore_result=True)
def stale_jobs_sweep_task() -> dict:
    """Every JOB_SWEEP_INTERVAL_S: long jobs whose worker was lost are resumed, queued again or failed
    (finobs.jobs)."""
    from finobs.jobs import stale_jobs_sweep

    return stale_jobs_sweep()
