"""Ingestion admin, one module per concern; importing them registers the model admins."""

from ingestion.admin import (  # noqa: F401
    idempotency,
    keys,
    outbox,
)
