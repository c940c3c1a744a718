"""Signals scoring sends; other apps connect to them in their AppConfig.ready()."""

from dataclasses import dataclass, field

from django.dispatch import Signal

# Sent inside the ingest DB transaction, after Transactions and Decisions are inserted.
# kwargs: decisions (list[Decision], each with .transaction set), actor.
# A receiver may return a DecisionsStoredReply; the ingest pipeline merges them, so it can name
# the case each decision joined and publish the receivers' events, without importing them.
decisions_stored = Signal()


@dataclass
class DecisionsStoredReply:
    case_references: dict[int, str] = field(default_factory=dict)  # transaction id -> case reference
    events: list[tuple[str, dict]] = field(default_factory=list)  # (event_type, payload) for the outbox
