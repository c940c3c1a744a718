"""Ingestion models, one module per concern."""

from ingestion.models.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey
from ingestion.models.sources import PullRun, PullSource
from ingestion.models.uploads import UploadJob

__all__ = [
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "IdempotencyKey",
    "PullRun",
    "PullSource",
    "UploadJob",
]
