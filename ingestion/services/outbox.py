"""Writing to the transactional outbox, and asking for it to be published after commit."""

import logging
from collections.abc import Sequence
from datetime import datetime

from django.db import router, transaction
from django.utils import timezone

from audit.services import hold_chain_lock
from ingestion.bulk import bulk_insert
from ingestion.models import OutboxEvent
from scoring.instances import unsaved

logger = logging.getLogger(__name__)


def append_events(events: Sequence[tuple[str, dict]], *, created_at: datetime | None = None) -> list[OutboxEvent]:
    """Write `(event_type, payload)` events in the caller's transaction; the relay runs after commit.

    Readers page the outbox by `id > last_seen` (stream replay, callbacks), so ids must become
    visible in id order: on PostgreSQL two transactions could draw 10 and 11 and commit 11 first,
    and a reader that saw 11 would skip 10 forever. The ids are therefore drawn under a lock held
    to commit -- the audit chain's lock, which the ingest transaction takes anyway (see
    `audit.services.hold_chain_lock` for why it must be that one).
    """
    if not events:
        return []
    created_at = created_at or timezone.now()
    fields = {"created_at": created_at, "published_at": None, "attempts": 0}
    rows = [unsaved(OutboxEvent, {"event_type": kind, "payload": payload, **fields}) for kind, payload in events]
    using = router.db_for_write(OutboxEvent)
    with transaction.atomic(using=using, savepoint=False):  # the caller's transaction, if any
        hold_chain_lock(using=using)
        bulk_insert(OutboxEvent, rows)
    transaction.on_commit(enqueue_outbox_relay, using=using)
    return rows


def enqueue_outbox_relay() -> None:
    """Ask a worker to publish the outbox; if the broker is down, the beat schedule catches up."""
    from ingestion.tasks import outbox_relay_task

    try:
        outbox_relay_task.delay()
    except Exception:  # broker unreachable: the events are safe in the outbox table
        logger.warning("ingest: could not enqueue the outbox relay; the periodic relay will publish", exc_info=True)
