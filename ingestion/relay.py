"""Publishes outbox events to the Channels groups after commit; safe to run from many processes.

The channel layer is at-most-once and may be down: an event is marked published only after the
layer accepted it, and anything left behind is picked up by the next run (on commit or on beat).
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ingestion.consumers import DECISIONS_GROUP
from ingestion.models import OutboxEvent

logger = logging.getLogger(__name__)

# Which Channels group each event type goes to; events of other types are only marked published.
EVENT_GROUPS = {"decision.created": DECISIONS_GROUP}
# Events per group message: keeps each message far below the layer's size limits and capacity.
MESSAGE_CHUNK = 500


def outbox_relay(*, batch_size: int = 5000) -> int:
    """Publish unpublished events in id order, then fan them out to callbacks; returns how many were published."""
    try:
        return _publish_pending(batch_size=batch_size)
    finally:
        _fan_out_callbacks()  # independent of the channel layer: callbacks go out while Redis is down


def _fan_out_callbacks() -> None:
    from ingestion.services.callbacks import fan_out_pending

    try:
        fan_out_pending()
    except Exception:  # the next relay run (on commit or on beat) tries again; nothing is lost
        logger.warning("outbox relay: callback fan-out failed", exc_info=True)


def _publish_pending(*, batch_size: int) -> int:
    layer = get_channel_layer()
    published = 0
    while True:
        with transaction.atomic():
            pending = OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                pending = pending.select_for_update(skip_locked=True)
            events = list(pending.values("id", "event_type", "payload")[:batch_size])
            if not events:
                return published
            try:
                _publish(layer, events)
            except Exception:
                ids = [e["id"] for e in events]
                OutboxEvent.objects.filter(id__in=ids).update(attempts=F("attempts") + 1)
                logger.warning("outbox relay: channel layer unavailable, %d events wait", len(events), exc_info=True)
                return published
            OutboxEvent.objects.filter(id__in=[e["id"] for e in events]).update(published_at=timezone.now())
        published += len(events)
        if len(events) < batch_size:
            return published


def _publish(layer, events: list[dict]) -> None:
    by_group: dict[str, list[dict]] = {}
    for event in events:
        group = EVENT_GROUPS.get(event["event_type"])
        if group is not None:
            by_group.setdefault(group, []).append(
                {"id": event["id"], "type": event["event_type"], "data": event["payload"]}
            )
    for group, group_events in by_group.items():
        for start in range(0, len(group_events), MESSAGE_CHUNK):
            chunk = group_events[start : start + MESSAGE_CHUNK]
            async_to_sync(layer.group_send)(group, {"type": "decisions.published", "events": chunk})
