"""Cases listens to scoring's decisions_stored signal (connected in CasesConfig.ready())."""

from cases.services import open_cases_for_decisions


def on_decisions_stored(sender, *, batch, actor, **kwargs) -> None:
    """Open or join cases for the batch's flagged decisions, and note each one's case on the batch."""
    batch.case_references.update(open_cases_for_decisions(decisions=batch.decisions, actor=actor))
