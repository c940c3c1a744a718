"""The daily retention run, as system work across organisations: the prune of tables that only grow (each
app's rule), then the records kept for a regulated period (closed cases, transactions, audit events), which
are archived into signed bundles before they are removed (evidence.services.retention). Published outbox
events and idempotency keys have hourly prunes of their own (delivery, ingestion)."""

from accounts.services.retention import sessions_prune, sign_in_records_prune
from delivery.services.retention import deliveries_prune
from evidence.services.retention import records_archive
from ingestion.services.retention import pull_runs_prune, upload_contents_prune
from organisations.context import system_context


def retention_prune() -> dict[str, int]:
    """Run every rule, each in batches of PRUNE_BATCH_ROWS committed one by one; returns rows removed (or,
    for uploads, emptied) by rule, and the records archived then removed."""
    with system_context():
        pruned = {
            "deliveries": deliveries_prune(),
            "skipped_pull_runs": pull_runs_prune(),
            "upload_contents": upload_contents_prune(),
            "sessions": sessions_prune(),
            "sign_in_records": sign_in_records_prune(),
        }
        archived = records_archive()
    return {**pruned, **{f"archived_{kind}": count for kind, count in archived.items()}}
