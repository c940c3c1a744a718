"""Ingestion models, one module per concern."""

from ingestion.models.callbacks import CallbackEndpoint, Delivery, DeliveryAttempt
from ingestion.models.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey
from ingestion.models.outbox import OutboxEvent
from ingestion.models.sources import PullRun, PullSource
from ingestion.models.uploads import UploadJob

__all__ = [
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "CallbackEndpoint",
    "Delivery",
    "DeliveryAttempt",
    "IdempotencyKey",
    "OutboxEvent",
    "PullRun",
    "PullSource",
    "UploadJob",
]
