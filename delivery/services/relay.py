"""Publishes outbox events to the Channels groups after commit; safe to run from many processes.

The channel layer is at-most-once and may be down: an event is marked published only after the
layer accepted it, and anything left behind is picked up by the next run (on commit or on beat).
Subscribers get compact hints (ids and what their filters need), never payloads: a 10,000-event
batch as payloads would pass channels-redis' message size and per-channel capacity; they read the
events themselves from the outbox (delivery.feed).

The relay is also what asks for flagged decisions to be explained (scoring's explain task, for the
decision.created events it publishes; each task in the trace and log context of the request that stored
its decisions, see kernel.tracing). The task is queued once the layer took the hints and before the
events are marked published, so a broker outage at ingest time delays explanations instead of losing
them, and the committing ingest request does no broker publish of its own. A pass that fails after
sending hints or queueing is repeated whole: hints only wake subscribers up (they read the events by id
from the outbox) and explaining is idempotent.
"""

import json
import logging
from datetime import timedelta

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, F, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from delivery.feed import decision_hint, decisions_group, hint_message, is_flagged
from delivery.metrics import WAITED, observe_outbox_lag
from delivery.models import DECISION_CREATED, Delivery, OutboxEvent
from kernel.async_bridge import call_async
from kernel.tracing import continuing, span
from organisations.context import system_context

logger = logging.getLogger(__name__)

# Which Channels group (of the event's organisation) each event type goes to; events of other types are
# only marked published.
EVENT_GROUPS = {DECISION_CREATED: decisions_group}
# Hints per group message: ~25 bytes each, so a message stays a few kB.
HINTS_PER_MESSAGE = 1000
PRUNE_CHUNK = 5000


def outbox_relay(*, batch_size: int = 5000) -> int:
    """Publish unpublished events of every organisation in id order, each to its organisation's groups, then
    fan them out to callbacks; returns how many were published."""
    with system_context():
        try:
            return _publish_pending(batch_size=batch_size)
        finally:
            _fan_out_callbacks()  # independent of the channel layer: callbacks go out while Redis is down


def _fan_out_callbacks() -> None:
    from delivery.services.callbacks import deliveries_fan_out

    try:
        deliveries_fan_out()
    except Exception:  # the next relay run (on commit or on beat) tries again; nothing is lost
        logger.warning("outbox relay: callback fan-out failed", exc_info=True)


def _publish_pending(*, batch_size: int) -> int:
    layer = get_channel_layer()
    published = 0
    while True:
        with transaction.atomic():
            pending = OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                # Several relays (on-commit tasks, beat, many workers) each take rows the others do not hold.
                pending = pending.select_for_update(skip_locked=True)
            # Only what the hints, the explanations and the lag metric need: decoding 5,000 whole payloads
            # cost more than the rest of the relay.
            events = list(
                pending.values(
                    "id",
                    "organisation_id",
                    "event_type",
                    risk_level=KT("payload__risk_level"),
                    flagged=KT("payload__flagged"),
                    transaction_id=KT("payload__transaction_id"),
                    origin_text=Cast("origin", TextField()),  # grouped as text, decoded once per request
                    waited=WAITED,
                )[:batch_size]
            )
            if not events:
                break
            ids = [e["id"] for e in events]
            try:
                with span("outbox.relay", events=len(events)):
                    _publish(layer, events)
                    _queue_explanations(events)
            except Exception:
                _events_with_ids(ids).update(attempts=F("attempts") + 1)
                logger.warning(
                    "outbox relay: broker or channel layer unavailable, %d events wait", len(events), exc_info=True
                )
                break
            _events_with_ids(ids).update(published_at=timezone.now())
        observe_outbox_lag(e["waited"] for e in events)
        published += len(events)
        if len(events) < batch_size:
            break
    return published


def _events_with_ids(ids: list[int]):
    if connection.vendor == "postgresql":
        # One array parameter instead of 5,000: building the IN list cost more than the UPDATE.
        return OutboxEvent.objects.filter(RawSQL("id = ANY(%s)", (ids,), output_field=BooleanField()))
    return OutboxEvent.objects.filter(id__in=ids)


def _queue_explanations(events: list[dict]) -> None:
    """An explain task for the flagged decisions among `events`, one per request that stored them, queued in
    that request's trace and log context (raises if the broker refuses it)."""
    from scoring.tasks import explain_decisions_task

    flagged_by_origin: dict[str | None, list[int]] = {}
    for e in events:
        # An event without its transaction (none that ingest writes) must not hold up the outbox behind it.
        if e["event_type"] == DECISION_CREATED and is_flagged(e["flagged"]) and e["transaction_id"] is not None:
            flagged_by_origin.setdefault(e["origin_text"], []).append(int(e["transaction_id"]))
    for origin, transaction_ids in flagged_by_origin.items():
        with continuing(json.loads(origin) if origin else None):
            explain_decisions_task.delay(transaction_ids)


def _publish(layer, events: list[dict]) -> None:
    if layer is None:
        return
    by_group: dict[str, list[list]] = {}
    for event in events:
        group_of = EVENT_GROUPS.get(event["event_type"])
        if group_of is not None:
            group = group_of(event["organisation_id"])
            hint = decision_hint(event["id"], risk_level=event["risk_level"], flagged=event["flagged"])
            by_group.setdefault(group, []).append(hint)
    for group, hints in by_group.items():
        for start in range(0, len(hints), HINTS_PER_MESSAGE):
            message = hint_message(hints[start : start + HINTS_PER_MESSAGE])
            call_async(layer.group_send, group, message, timeout=settings.CHANNEL_LAYER_SEND_TIMEOUT_S)


def outbox_prune(*, older_than: timedelta | None = None, chunk: int = PRUNE_CHUNK) -> int:
    """Delete published events older than OUTBOX_RETENTION_DAYS, oldest first, `chunk` rows per statement.

    Delivered callbacks of those events go with them (their attempts too); an event whose callback is
    still pending, retrying or dead (the dead-letter queue) stays until it is delivered or its endpoint
    is deleted, so a redelivery always has its body.
    """
    with system_context():
        return _prune(older_than=older_than, chunk=chunk)


def _prune(*, older_than: timedelta | None, chunk: int) -> int:
    if older_than is None:
        older_than = timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    # Ids grow with created_at: the first event newer than the cutoff bounds what may go, and finding
    # it walks the primary key from the oldest row only as far as the rows being deleted.
    boundary = OutboxEvent.objects.filter(created_at__gte=cutoff).order_by("id").values_list("id", flat=True).first()
    old = OutboxEvent.objects.filter(published_at__isnull=False, created_at__lt=cutoff)
    if boundary is not None:
        old = old.filter(id__lt=boundary)
    old = old.exclude(deliveries__in=Delivery.objects.exclude(status=Delivery.Status.DELIVERED))
    deleted = 0
    while ids := list(old.order_by("id").values_list("id", flat=True)[:chunk]):
        with transaction.atomic():
            Delivery.objects.filter(event_id__in=ids, status=Delivery.Status.DELIVERED).delete()
            deleted += OutboxEvent.objects.filter(id__in=ids).delete()[0]
        if len(ids) < chunk:
            break
    return deleted
