"""Ingestion admin, one module per concern; importing them registers the model admins."""

from ingestion.admin import idempotency, sources, uploads  # noqa: F401
