"""Scoring's own receivers of decisions_stored: keep account profiles current (inside the ingest transaction)
and explain the flagged decisions once the ingest has committed."""

from django.db import transaction

from scoring.profiles import profiles_record


def update_account_profiles(sender, *, decisions, actor, **kwargs) -> None:
    profiles_record([d.transaction for d in decisions])


def explain_flagged_after_commit(sender, *, decisions, actor, **kwargs) -> None:
    from scoring.tasks import explain_decisions_task

    flagged = [d.transaction_id for d in decisions if d.flagged]
    if flagged:
        # robust: a broker outage must not fail the ingest that already committed; the on-demand
        # endpoint computes what the task could not.
        transaction.on_commit(lambda: explain_decisions_task.delay(flagged), robust=True)
