"""Ingestion models, one module per concern."""

from ingestion.models.keys import KEY_PREFIX_LENGTH, ApiKey
from ingestion.models.outbox import OutboxEvent

__all__ = ["KEY_PREFIX_LENGTH", "ApiKey", "OutboxEvent"]

# Pull sources and CSV uploads (issue 4, part B)
from ingestion.models.sources import PullRun, PullSource
from ingestion.models.uploads import UploadJob

__all__ += ["PullRun", "PullSource", "UploadJob"]
