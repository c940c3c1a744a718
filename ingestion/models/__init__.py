"""Ingestion models, one module per concern."""

# Part D: Idempotency-Key
from ingestion.models.idempotency import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey
from ingestion.models.keys import KEY_PREFIX_LENGTH, ApiKey
from ingestion.models.outbox import OutboxEvent

__all__ = ["IDEMPOTENCY_KEY_MAX_LENGTH", "KEY_PREFIX_LENGTH", "ApiKey", "IdempotencyKey", "OutboxEvent"]
