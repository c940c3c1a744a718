"""Signals scoring sends; other apps connect to them in their AppConfig.ready()."""

from django.dispatch import Signal

# Sent by batch_store inside the ingest transaction, once a batch's transactions and decisions are stored.
# kwargs: batch (scoring.services.storing.StoredBatch; each decision has .transaction set), actor.
# Cases connects to it: it opens or joins cases in the same transaction, writes their timeline, audit and
# outbox events itself, and notes each flagged decision's case in batch.case_references.
decisions_stored = Signal()
