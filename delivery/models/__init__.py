"""Delivery's models: the outbox, and the callback endpoints with their deliveries."""

from delivery.models.callbacks import KNOWN_EVENT_TYPES, CallbackEndpoint, Delivery, DeliveryAttempt
from delivery.models.outbox import DECISION_CREATED, OutboxEvent

__all__ = ["DECISION_CREATED", "KNOWN_EVENT_TYPES", "CallbackEndpoint", "Delivery", "DeliveryAttempt", "OutboxEvent"]
