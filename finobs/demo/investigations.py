"""The investigation agent in the month: shortly before now the analyst asks it to investigate the latest
severe cases under way (not escalated, no closure waiting) with the configured provider (the offline model
unless one is set up), and the compliance officer decides two of its proposals, accepting one and rejecting
another with a reason; the rest wait in the recommendations queue. Deciding a proposal is a four-eyes
decision, which needs a session verified with a second factor: the officer's (finobs.demo.people.signed_in),
not the analyst's, who signs in without one."""

from datetime import timedelta
from functools import partial

from approvals.models import ApprovalStatus
from cases.models import AgentAction, Case, Investigation, Severity
from cases.services.investigations import investigation_request
from cases.services.lifecycle import TRANSITIONS
from cases.services.proposals import agent_action_decide
from finobs.demo import Demo
from finobs.demo.casework import QUIET_MINUTES

INVESTIGATED_CASES = 3
# After the closures proposed on the latest severe cases (casework.waiting_for_you), before the quiet minutes.
INVESTIGATE_MINUTES_BEFORE_END = QUIET_MINUTES + 10
DECIDE_MINUTES_BEFORE_END = QUIET_MINUTES + 5
# Which proposal the analyst takes up first: the ones that change least come first.
ACCEPT_FIRST = [
    AgentAction.Kind.REQUEST_INFORMATION,
    AgentAction.Kind.ASSIGN,
    AgentAction.Kind.ESCALATE,
    AgentAction.Kind.CLOSE_AS,
    AgentAction.Kind.DRAFT_RULE,
]
REJECTION = "The customer has since confirmed these payments by phone; keeping the case open for the card block."


def investigations(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        return _investigations_line()
    demo.at(demo.end - timedelta(minutes=INVESTIGATE_MINUTES_BEFORE_END), partial(_investigate, demo))
    demo.at(demo.end - timedelta(minutes=DECIDE_MINUTES_BEFORE_END), partial(_decide, demo))
    return None


def _investigate(demo: Demo) -> None:
    analyst = demo.user("analyst")
    severe = (
        Case.objects.visible_to(analyst)
        .open()
        .filter(severity__in=[Severity.HIGH, Severity.CRITICAL])
        .exclude(status__in=[Case.Status.PENDING_APPROVAL, Case.Status.ESCALATED])
        .order_by("-opened_at", "-id")[:INVESTIGATED_CASES]
    )
    for case in severe:
        investigation_request(case=case, actor=analyst)  # runs at once: the demo's tasks run in-process


def _decide(demo: Demo) -> None:
    officer = demo.user("compliance")
    pending = list(
        AgentAction.objects.filter(status=ApprovalStatus.PENDING, investigation__requested_by=demo.user("analyst"))
        .select_related("case")
        .order_by("investigation__created_at", "id")
    )
    if not pending:
        return
    applicable = [action for action in pending if _applies(action)]
    accepted = min(applicable, key=lambda action: ACCEPT_FIRST.index(action.action_kind), default=None)
    if accepted is not None:
        agent_action_decide(action=accepted, actor=officer, accept=True)
    others = [action for action in pending if action != accepted]
    rejected = next((a for a in others if accepted is None or a.case_id != accepted.case_id), None)
    if rejected := rejected or next(iter(others), None):
        agent_action_decide(action=rejected, actor=officer, accept=False, reason=REJECTION)
    demo.write(_investigations_line())


def _applies(action: AgentAction) -> bool:
    """Whether accepting `action` can take effect now (the agent may propose escalating a case whose status
    cannot move to escalated)."""
    if action.action_kind == AgentAction.Kind.ESCALATE:
        return Case.Status.ESCALATED in TRANSITIONS[action.case.status]
    return True


def _investigations_line() -> str:
    done = Investigation.objects.filter(status=Investigation.Status.DONE)
    actions = AgentAction.objects.filter(investigation__in=done)
    waiting = actions.filter(status=ApprovalStatus.PENDING).count()
    decided = actions.filter(status__in=[ApprovalStatus.APPROVED, ApprovalStatus.REJECTED]).count()
    return (
        f"  Investigations: {done.count()} by the agent on severe open cases, {decided} proposals decided, "
        f"{waiting} waiting in /recommendations/."
    )
