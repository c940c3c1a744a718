"""Signals scoring sends; other apps connect to them in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent inside the ingest DB transaction, after Transactions and Decisions are inserted.
# kwargs: decisions (list[Decision], with .transaction set), actor.
# A receiver may return {transaction_id: case_reference} so the ingest response can name the case
# that each flagged decision opened or joined, without ingestion importing cases.
decisions_stored = Signal()
