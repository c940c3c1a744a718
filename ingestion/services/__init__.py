"""Ingestion's business logic; views, tasks, commands and admin call these."""

from ingestion.services.keys import api_key_create, api_key_revoke
from ingestion.services.pipeline import DECISION_CREATED, IngestResult, enqueue_outbox_relay, ingest

__all__ = ["DECISION_CREATED", "IngestResult", "api_key_create", "api_key_revoke", "enqueue_outbox_relay", "ingest"]
