"""Ingestion models, one module per concern."""

from ingestion.models.keys import KEY_PREFIX_LENGTH, ApiKey
from ingestion.models.outbox import OutboxEvent

__all__ = ["KEY_PREFIX_LENGTH", "ApiKey", "OutboxEvent"]

# Callbacks (issue 4, part A)
from ingestion.models.callbacks import CallbackEndpoint, Delivery, DeliveryAttempt

__all__ += ["CallbackEndpoint", "Delivery", "DeliveryAttempt"]
