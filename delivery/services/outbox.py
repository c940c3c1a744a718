"""Writing to the transactional outbox, and asking for it to be published after commit."""

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, router, transaction
from django.utils import timezone

from audit.services import hold_chain_lock
from delivery.models import DECISION_CREATED, OutboxEvent
from kernel.arrays import text_array
from kernel.bulk import bulk_insert
from kernel.instances import unsaved
from kernel.tracing import detached, origin
from organisations.context import id_of, require_organisation_id

logger = logging.getLogger(__name__)


def outbox_append(
    *, events: Sequence[tuple[str, dict]], organisation=None, created_at: datetime | None = None
) -> list[OutboxEvent]:
    """Write `(event_type, payload)` events of `organisation` (the current one unless named) in the caller's
    transaction; the relay runs after commit.

    Readers page an organisation's outbox by `id > last_seen` (stream replay, callbacks), so its ids must
    become visible in id order: on PostgreSQL two transactions could draw 10 and 11 and commit 11 first,
    and a reader that saw 11 would skip 10 forever. The ids are therefore drawn under a lock held to
    commit -- the organisation's audit chain lock, which the ingest transaction takes anyway (see
    `audit.services.hold_chain_lock` for why it must be that one).
    """
    if not events:
        return []
    organisation_id = _organisation_id(organisation)
    created_at = created_at or timezone.now()
    fields = {
        "organisation_id": organisation_id,
        "created_at": created_at,
        "published_at": None,
        "attempts": 0,
        "origin": origin(),
    }
    rows = [unsaved(OutboxEvent, {"event_type": kind, "payload": payload, **fields}) for kind, payload in events]
    using = router.db_for_write(OutboxEvent)
    with transaction.atomic(using=using, savepoint=False):  # the caller's transaction, if any
        hold_chain_lock(organisation_id=organisation_id, using=using)
        bulk_insert(OutboxEvent, rows)
    transaction.on_commit(outbox_relay_enqueue, using=using)
    return rows


def _organisation_id(organisation) -> int:
    return require_organisation_id() if organisation is None else id_of(organisation)


def outbox_append_decisions(
    *,
    decisions: Sequence,
    case_references: dict[int, str],
    source: str,
    created_at: datetime,
    organisation=None,
) -> None:
    """One decision.created event per stored decision (scoring's Decision rows), in the decisions' order.

    The event stores what its filters read (the relay's hints, the feed's and the callbacks' matching):
    transaction id, source, risk level, flag and case reference; readers get the whole data from
    `delivery.selectors.events_data`. On PostgreSQL one INSERT ... SELECT from arrays: building the
    whole payloads there (jsonb_build_object over a join of the rows just written) took ~100 ms of a
    10,000-item batch's transaction, these ~45.
    """
    if not decisions:
        return
    if connection.vendor != "postgresql":
        outbox_append(
            events=[
                (DECISION_CREATED, decision_event_payload(d, source, case_references.get(d.transaction_id)))
                for d in decisions
            ],
            organisation=organisation,
            created_at=created_at,
        )
        return
    organisation_id = _organisation_id(organisation)
    ids = [d.transaction_id for d in decisions]
    using = router.db_for_write(OutboxEvent)
    with transaction.atomic(using=using, savepoint=False), connections[using].cursor() as cursor:
        hold_chain_lock(organisation_id=organisation_id, using=using)
        cursor.execute(
            _DECISION_EVENTS_SQL,
            [
                organisation_id,
                DECISION_CREATED,
                source,
                created_at,
                _json_or_null(origin()),
                "{" + ",".join(map(str, ids)) + "}",
                text_array([d.risk_level for d in decisions]),
                "{" + ",".join("t" if d.flagged else "f" for d in decisions) + "}",
                text_array([case_references.get(i) for i in ids]),
            ],
        )
    transaction.on_commit(outbox_relay_enqueue, using=using)


_DECISION_EVENTS_SQL = (
    f"INSERT INTO {OutboxEvent._meta.db_table} "  # noqa: S608
    "(organisation_id, event_type, payload, created_at, published_at, attempts, origin) "
    "SELECT %s, %s, jsonb_build_object('transaction_id', r.transaction_id, 'source', %s::text, "
    "'risk_level', r.risk_level, 'flagged', r.flagged, 'case_reference', r.case_reference), %s, NULL, 0, %s::jsonb "
    "FROM unnest(%s::bigint[], %s::text[], %s::boolean[], %s::text[]) "
    "WITH ORDINALITY AS r(transaction_id, risk_level, flagged, case_reference, position) "
    "ORDER BY r.position"
)


def _json_or_null(value: dict | None) -> str | None:
    return None if value is None else json.dumps(value)


def decision_event_payload(decision, source: str, case_reference: str | None) -> dict:
    """What a decision.created event stores (as _DECISION_EVENTS_SQL writes it on PostgreSQL)."""
    return {
        "transaction_id": decision.transaction_id,
        "source": source,
        "risk_level": decision.risk_level,
        "flagged": decision.flagged,
        "case_reference": case_reference,
    }


# Set while a relay task is queued, or runs and has another queued: commits meanwhile need no task of
# their own. A relay queued by a commit publishes at once; if it found events, traffic is flowing and it
# queues the next relay OUTBOX_RELAY_BUSY_INTERVAL_MS later, keeping the mark, so that under steady
# ingest one relay runs per interval instead of one per commit (single-item ingest: a relay task per
# request cost ~2.6 ms of the worker's CPU and ~0.7 ms of PostgreSQL's per request, and the broker
# publish ~3 ms of the web process'). Once a relay finds nothing, the mark goes and the next commit
# queues a relay that runs at once, so a lone event is not held back.
RELAY_QUEUED_KEY = "delivery:outbox-relay-queued"


def outbox_relay_enqueue() -> None:
    """Ask a worker to publish the outbox, unless a relay is already queued (broker down: beat catches up)."""
    from delivery.tasks import outbox_relay_task

    if not _mark_relay_queued():
        return
    try:
        with detached():  # the relay publishes for every request: it continues none of their traces
            outbox_relay_task.apply_async(kwargs={"holds_mark": True})
    except Exception:  # broker unreachable: the events are safe in the outbox table
        outbox_relay_mark_clear()  # nothing is queued after all: the next commit tries again
        logger.warning("outbox: could not enqueue the relay; the periodic relay will publish", exc_info=True)


def outbox_relay_holding_mark(*, relay: Callable[[], int]) -> int:
    """Run `relay` (it publishes what is unpublished and returns how many) for a task queued under the mark.

    Published something: the next relay is queued for OUTBOX_RELAY_BUSY_INTERVAL_MS from now and the
    mark stays. Published nothing: the mark is cleared, and if events came in while it was held (their
    commits queued no task) a relay is queued for them at once -- unless the oldest unpublished event is
    the one that was there before this pass, which means the channel layer is down or another relay
    holds the rows: beat or that relay publish them, rather than a loop of tasks that cannot.
    """
    from delivery.tasks import outbox_relay_task

    oldest = _oldest_unpublished_id()
    try:
        published = relay()
    except BaseException:
        outbox_relay_mark_clear()  # commits queue relays again (the task's redelivery, or beat, retries)
        raise
    if published:
        try:
            cache.set(RELAY_QUEUED_KEY, 1, timeout=settings.OUTBOX_RELAY_QUEUED_TTL_S)
            with detached():  # each relay its own trace, not one endless chain of them
                outbox_relay_task.apply_async(
                    kwargs={"holds_mark": True}, countdown=settings.OUTBOX_RELAY_BUSY_INTERVAL_MS / 1000
                )
            return published
        except Exception:  # the broker or the cache is down: commits queue relays again (or beat runs)
            logger.warning("outbox relay: could not queue the next relay", exc_info=True)
    outbox_relay_mark_clear()
    if _oldest_unpublished_id() not in (None, oldest):
        outbox_relay_enqueue()  # for the events whose commits saw the mark
    return published


def _oldest_unpublished_id() -> int | None:
    return OutboxEvent.objects.filter(published_at__isnull=True).order_by("id").values_list("id", flat=True).first()


def outbox_relay_mark_clear() -> None:
    """Commits from now on queue a relay of their own."""
    with contextlib.suppress(Exception):  # the cache (Redis) is down: the mark expires by itself
        cache.delete(RELAY_QUEUED_KEY)


def _mark_relay_queued() -> bool:
    """True if no relay was marked queued (and now one is); True as well when the cache is unreachable."""
    try:
        return cache.add(RELAY_QUEUED_KEY, 1, timeout=settings.OUTBOX_RELAY_QUEUED_TTL_S)
    except Exception:
        return True
