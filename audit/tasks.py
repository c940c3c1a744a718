"""Celery tasks of audit: thin wrappers over its services."""

from celery import shared_task

from audit.checkpoints import audit_checkpoint_write


@shared_task(acks_late=True, ignore_result=True)
def audit_checkpoint_task() -> int | None:
    checkpoint = audit_checkpoint_write()
    return checkpoint.head_id if checkpoint else None
