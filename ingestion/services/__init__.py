"""Ingestion's business logic; views, tasks, commands and admin call these."""

from ingestion.services.callback_endpoints import (
    callback_endpoint_create,
    callback_endpoint_delete,
    callback_endpoint_rotate_secret,
    callback_endpoint_update,
)
from ingestion.services.callbacks import (
    DeliveryInFlight,
    deliver,
    deliveries_due,
    delivery_redeliver,
    fan_out_pending,
)
from ingestion.services.outbox import append_events, enqueue_outbox_relay
from ingestion.services.pipeline import DECISION_CREATED, IngestResult, event_data, events_data, ingest
from ingestion.services.pulls import (
    pull_source_delete,
    pull_source_enqueue,
    pull_source_reset_breaker,
    pull_source_save,
    run_pull,
)
from ingestion.services.uploads import UploadRefused, process_upload_job, upload_create

__all__ = [
    "DECISION_CREATED",
    "DeliveryInFlight",
    "IngestResult",
    "UploadRefused",
    "append_events",
    "callback_endpoint_create",
    "callback_endpoint_delete",
    "callback_endpoint_rotate_secret",
    "callback_endpoint_update",
    "deliver",
    "deliveries_due",
    "delivery_redeliver",
    "enqueue_outbox_relay",
    "event_data",
    "events_data",
    "fan_out_pending",
    "ingest",
    "process_upload_job",
    "pull_source_delete",
    "pull_source_enqueue",
    "pull_source_reset_breaker",
    "pull_source_save",
    "run_pull",
    "upload_create",
]
