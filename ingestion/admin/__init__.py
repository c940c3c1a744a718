"""Ingestion admin, one module per concern; importing them registers the model admins."""

import ingestion.admin.sources
import ingestion.admin.uploads  # noqa: F401  (issue 4, part B: CSV uploads)
from ingestion.admin import keys, outbox  # noqa: F401
