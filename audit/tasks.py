"""Celery tasks of audit: thin wrappers over its services."""

from celery import shared_task

from audit.checkpoints import audit_checkpoint_write
from audit.services import PLATFORM
from organisations.models import Organisation


@shared_task(acks_late=True, ignore_result=True)
def audit_checkpoint_task() -> list[int | None]:
    """Checkpoint the head of every organisation's chain, and of the platform's."""
    chains = [*Organisation.objects.order_by("pk"), PLATFORM]
    written = [audit_checkpoint_write(organisation=organisation) for organisation in chains]
    return [checkpoint.head_id if checkpoint else None for checkpoint in written]
