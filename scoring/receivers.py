"""Scoring's own receiver of decisions_stored: explain the flagged decisions once the ingest has committed.

(Account profiles are not kept by a receiver: ingestion records them before the decisions exist, see
scoring.services.profiles_record.)"""

from django.db import transaction


def explain_flagged_after_commit(sender, *, decisions, actor, **kwargs) -> None:
    from scoring.tasks import explain_decisions_task

    flagged = [d.transaction_id for d in decisions if d.flagged]
    if flagged:
        # robust: a broker outage must not fail the ingest that already committed; the on-demand
        # endpoint computes what the task could not.
        transaction.on_commit(lambda: explain_decisions_task.delay(flagged), robust=True)
