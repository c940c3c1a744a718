"""Signals scoring sends; other apps connect to them in their AppConfig.ready()."""

from dataclasses import dataclass, field

from django.dispatch import Signal

# Sent inside the ingest DB transaction, after Transactions and Decisions are inserted.
# kwargs: decisions (list[Decision], each with .transaction set), actor.
# A receiver may return a DecisionsStoredReply; the ingest pipeline merges them, so it can name
# the case each decision joined, publish the receivers' events and append their audit entries with
# its own (one append to the audit chain per ingest), without importing them.
decisions_stored = Signal()


@dataclass
class DecisionsStoredReply:
    case_references: dict[int, str] = field(default_factory=dict)  # transaction id -> case reference
    events: list[tuple[str, dict]] = field(default_factory=list)  # (event_type, payload) for the outbox
    audit_entries: list = field(default_factory=list)  # audit.services.AuditEntry, appended by the ingest


# Sent inside the writer's DB transaction for anything integrators should hear about
# ("model.promoted", "case.closed", ...). kwargs: event_type (str), payload (JSON-able dict).
# ingestion connects it and writes an OutboxEvent in that same transaction, so scoring and cases
# publish without importing ingestion (see DESIGN.md, dependency direction).
outbox_event = Signal()


def publish(event_type: str, payload: dict) -> None:
    """Queue an event for the outbox (streams and callbacks); call it inside the writing transaction."""
    outbox_event.send(sender=None, event_type=event_type, payload=payload)
