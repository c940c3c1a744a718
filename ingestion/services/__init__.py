"""Ingestion's business logic; views, tasks, commands and admin call these."""

from ingestion.services.keys import api_key_create, api_key_revoke
from ingestion.services.outbox import append_events, enqueue_outbox_relay
from ingestion.services.pipeline import DECISION_CREATED, IngestResult, ingest

__all__ = [
    "DECISION_CREATED",
    "IngestResult",
    "api_key_create",
    "api_key_revoke",
    "append_events",
    "enqueue_outbox_relay",
    "ingest",
]

# Pull sources and CSV uploads (issue 4, part B)
from ingestion.services.pulls import (
    pull_source_delete,
    pull_source_enqueue,
    pull_source_reset_breaker,
    pull_source_save,
    run_pull,
)
from ingestion.services.uploads import UploadRefused, process_upload_job, upload_create

__all__ += [
    "UploadRefused",
    "process_upload_job",
    "pull_source_delete",
    "pull_source_enqueue",
    "pull_source_reset_breaker",
    "pull_source_save",
    "run_pull",
    "upload_create",
]
