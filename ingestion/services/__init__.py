"""Ingestion's business logic; views, tasks, commands and admin call these."""

from ingestion.services.keys import api_key_create, api_key_revoke, api_key_update
from ingestion.services.outbox import append_events, enqueue_outbox_relay
from ingestion.services.pipeline import DECISION_CREATED, IngestResult, ingest

__all__ = [
    "DECISION_CREATED",
    "IngestResult",
    "api_key_create",
    "api_key_revoke",
    "api_key_update",
    "append_events",
    "enqueue_outbox_relay",
    "ingest",
]
