"""Publishing events for integrators from any app, without importing the outbox that stores them.

Apps below delivery (scoring, approvals) and above it (cases) call `publish` inside the transaction
that writes what the event describes; delivery's receiver appends the events to the transactional
outbox in that same transaction, and they go out after commit (live feed, callbacks).
"""

from collections.abc import Sequence

from django.dispatch import Signal

# kwargs: events, a list of (event_type, payload) with JSON-able payloads.
events_published = Signal()


def publish(event_type: str, payload: dict) -> None:
    """Queue one event (`"case.closed"`, `"model.promoted"`...) for the outbox, inside the writing transaction."""
    events_published.send(sender=None, events=[(event_type, payload)])


def publish_many(events: Sequence[tuple[str, dict]]) -> None:
    """Queue several `(event_type, payload)` events at once, in order (one insert)."""
    if events:
        events_published.send(sender=None, events=list(events))
