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

# Callbacks (issue 4, part A)
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

__all__ += [
    "DeliveryInFlight",
    "callback_endpoint_create",
    "callback_endpoint_delete",
    "callback_endpoint_rotate_secret",
    "callback_endpoint_update",
    "deliver",
    "deliveries_due",
    "delivery_redeliver",
    "fan_out_pending",
]
