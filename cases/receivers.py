"""Cases listens to scoring's decisions_stored signal (connected in CasesConfig.ready())."""

from cases.services import open_cases_for_decisions


def on_decisions_stored(sender, *, decisions, actor, **kwargs):
    return open_cases_for_decisions(decisions=decisions, actor=actor, audit_in_reply=True)
