"""Writing to the transactional outbox, and asking for it to be published after commit."""

import logging
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ingestion.bulk import bulk_insert
from ingestion.models import OutboxEvent

logger = logging.getLogger(__name__)


def append_events(events: Sequence[tuple[str, dict]], *, created_at: datetime | None = None) -> list[OutboxEvent]:
    """Write `(event_type, payload)` events in the caller's transaction; the relay runs after commit."""
    created_at = created_at or timezone.now()
    rows = bulk_insert(
        OutboxEvent, [OutboxEvent(event_type=kind, payload=payload, created_at=created_at) for kind, payload in events]
    )
    transaction.on_commit(enqueue_outbox_relay)
    return list(rows)


def enqueue_outbox_relay() -> None:
    """Ask a worker to publish the outbox; if the broker is down, the beat schedule catches up."""
    from ingestion.tasks import outbox_relay_task

    try:
        outbox_relay_task.delay()
    except Exception:  # broker unreachable: the events are safe in the outbox table
        logger.warning("ingest: could not enqueue the outbox relay; the periodic relay will publish", exc_info=True)
