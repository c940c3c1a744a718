"""Delivery admin, one module per concern; importing them registers the model admins."""

from delivery.admin import callbacks, outbox  # noqa: F401
