"""The daily prune of tables that only grow: each app's rule, run as system work across organisations.
Audit events and cases are never pruned; published outbox events and idempotency keys have hourly
prunes of their own (delivery, ingestion)."""

from accounts.services.retention import sessions_prune, sign_in_records_prune
from delivery.services.retention import deliveries_prune
from ingestion.services.retention import pull_runs_prune, upload_contents_prune
from organisations.context import system_context


def retention_prune() -> dict[str, int]:
    """Run every rule, each in batches of PRUNE_BATCH_ROWS committed one by one; returns rows removed (or,
    for uploads, emptied) by rule."""
    with system_context():
        return {
            "deliveries": deliveries_prune(),
            "skipped_pull_runs": pull_runs_prune(),
            "upload_contents": upload_contents_prune(),
            "sessions": sessions_prune(),
            "sign_in_records": sign_in_records_prune(),
        }
