"""What ingestion does when other apps speak: their events go to the outbox, in their transaction."""

from django.db import transaction
from django.utils import timezone

from ingestion.models import OutboxEvent
from ingestion.services import enqueue_outbox_relay


def on_outbox_event(sender, *, event_type: str, payload: dict, **kwargs) -> None:
    OutboxEvent.objects.create(event_type=event_type, payload=payload, created_at=timezone.now())
    transaction.on_commit(enqueue_outbox_relay)
