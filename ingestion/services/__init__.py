"""Intake's business operations (the only code that writes its tables), by concept:

pipeline.py     the one ingest pipeline every source uses: validate, de-duplicate, score, store, publish
scoring.py      the same validation and scoring without storing anything (a what-if)
coalescing.py   concurrent small API requests of one key share one ingest run (group commit)
idempotency.py  Idempotency-Key: a repeated request gets the stored response
pulls.py        pull sources: configured, scheduled and run page by page
uploads.py      CSV uploads, ingested in chunks in the background
"""

from ingestion.services.pipeline import IngestResult, ingest
from ingestion.services.pulls import (
    pull_source_delete,
    pull_source_enqueue,
    pull_source_reset_breaker,
    pull_source_run,
    pull_source_save,
)
from ingestion.services.scoring import ScoreResult, transactions_score
from ingestion.services.uploads import UploadRefused, upload_create, upload_process

__all__ = [
    "IngestResult",
    "ScoreResult",
    "UploadRefused",
    "ingest",
    "pull_source_delete",
    "pull_source_enqueue",
    "pull_source_reset_breaker",
    "pull_source_run",
    "pull_source_save",
    "transactions_score",
    "upload_create",
    "upload_process",
]
