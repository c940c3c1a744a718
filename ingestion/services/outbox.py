"""Writing to the transactional outbox, and asking for it to be published after commit."""

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.utils import timezone

from audit.services import hold_chain_lock
from ingestion.models import OutboxEvent
from kernel.bulk import bulk_insert
from kernel.instances import unsaved

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


def append_events_by_query(sql: str, params: Sequence) -> int:
    """Write events with one `INSERT INTO <outbox> ... SELECT` (PostgreSQL) in the caller's transaction.

    For events whose payloads the database can build from rows the transaction just wrote (an ingest
    batch's decisions): no payload crosses the wire twice. The same lock and relay as append_events;
    the statement must insert in the order the events should be read. Returns the rows inserted.
    """
    using = router.db_for_write(OutboxEvent)
    with transaction.atomic(using=using, savepoint=False), connections[using].cursor() as cursor:
        hold_chain_lock(using=using)
        cursor.execute(sql, list(params))
        inserted = cursor.rowcount
    if inserted:
        transaction.on_commit(enqueue_outbox_relay, using=using)
    return inserted


# Set while a relay task is queued, or runs and has another queued: commits meanwhile need no task of
# their own. A relay queued by a commit publishes at once; if it found events, traffic is flowing and it
# queues the next relay OUTBOX_RELAY_BUSY_INTERVAL_MS later, keeping the mark, so that under steady
# ingest one relay runs per interval instead of one per commit (single-item ingest: a relay task per
# request cost ~2.6 ms of the worker's CPU and ~0.7 ms of PostgreSQL's per request, and the broker
# publish ~3 ms of the web process'). Once a relay finds nothing, the mark goes and the next commit
# queues a relay that runs at once, so a lone event is not held back.
RELAY_QUEUED_KEY = "ingestion:outbox-relay-queued"


def enqueue_outbox_relay() -> None:
    """Ask a worker to publish the outbox, unless a relay is already queued (broker down: beat catches up)."""
    from ingestion.tasks import outbox_relay_task

    if not _mark_relay_queued():
        return
    try:
        outbox_relay_task.apply_async(kwargs={"holds_mark": True})
    except Exception:  # broker unreachable: the events are safe in the outbox table
        relay_mark_clear()  # nothing is queued after all: the next commit tries again
        logger.warning("ingest: could not enqueue the outbox relay; the periodic relay will publish", exc_info=True)


def relay_holding_mark(relay: Callable[[], int]) -> int:
    """Run `relay` (it publishes what is unpublished and returns how many) for a task queued under the mark.

    Published something: the next relay is queued for OUTBOX_RELAY_BUSY_INTERVAL_MS from now and the
    mark stays. Published nothing: the mark is cleared, and if events came in while it was held (their
    commits queued no task) a relay is queued for them at once -- unless the oldest unpublished event is
    the one that was there before this pass, which means the channel layer is down or another relay
    holds the rows: beat or that relay publish them, rather than a loop of tasks that cannot.
    """
    from ingestion.tasks import outbox_relay_task

    oldest = _oldest_unpublished_id()
    try:
        published = relay()
    except BaseException:
        relay_mark_clear()  # commits queue relays again (the task's redelivery, or beat, retries)
        raise
    if published:
        try:
            cache.set(RELAY_QUEUED_KEY, 1, timeout=settings.OUTBOX_RELAY_QUEUED_TTL_S)
            outbox_relay_task.apply_async(
                kwargs={"holds_mark": True}, countdown=settings.OUTBOX_RELAY_BUSY_INTERVAL_MS / 1000
            )
            return published
        except Exception:  # the broker or the cache is down: commits queue relays again (or beat runs)
            logger.warning("outbox relay: could not queue the next relay", exc_info=True)
    relay_mark_clear()
    if _oldest_unpublished_id() not in (None, oldest):
        enqueue_outbox_relay()  # for the events whose commits saw the mark
    return published


def _oldest_unpublished_id() -> int | None:
    return OutboxEvent.objects.filter(published_at__isnull=True).order_by("id").values_list("id", flat=True).first()


def relay_mark_clear() -> None:
    """Commits from now on queue a relay of their own."""
    with contextlib.suppress(Exception):  # the cache (Redis) is down: the mark expires by itself
        cache.delete(RELAY_QUEUED_KEY)


def _mark_relay_queued() -> bool:
    """True if no relay was marked queued (and now one is); True as well when the cache is unreachable."""
    try:
        return cache.add(RELAY_QUEUED_KEY, 1, timeout=settings.OUTBOX_RELAY_QUEUED_TTL_S)
    except Exception:
        return True
