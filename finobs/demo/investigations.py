"""The investigation agent in the month: shortly before now the analyst asks it to investigate the latest
severe open cases (the configured provider: the offline model unless one is set up), then decides two of its
proposals, accepting one and rejecting another with a reason; the rest wait in the recommendations queue."""

from datetime import timedelta
from functools import partial

from approvals.models import ApprovalStatus
from cases.models import AgentAction, Case, Investigation, Severity
from cases.services.investigations import investigation_request
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
        .exclude(status=Case.Status.PENDING_APPROVAL)
        .order_by("-opened_at", "-id")[:INVESTIGATED_CASES]
    )
    for case in severe:
        investigation_request(case=case, actor=analyst)  # runs at once: the demo's tasks run in-process


def _decide(demo: Demo) -> None:
    analyst = demo.user("analyst")
    pending = list(
        AgentAction.objects.filter(status=ApprovalStatus.PENDING, investigation__requested_by=analyst).order_by(
            "investigation__created_at", "id"
        )
    )
    if not pending:
        return
    accepted = min(pending, key=lambda action: ACCEPT_FIRST.index(action.action_kind))
    agent_action_decide(action=accepted, actor=analyst, accept=True)
    rejected = next((action for action in pending if action.case_id != accepted.case_id), None)
    rejected = rejected or next((action for action in pending if action.pk != accepted.pk), None)
    if rejected is not None:
        agent_action_decide(action=rejected, actor=analyst, accept=False, reason=REJECTION)
    demo.write(_investigations_line())


def _investigations_line() -> str:
    done = Investigation.objects.filter(status=Investigation.Status.DONE)
    actions = AgentAction.objects.filter(investigation__in=done)
    waiting = actions.filter(status=ApprovalStatus.PENDING).count()
    decided = actions.filter(status__in=[ApprovalStatus.APPROVED, ApprovalStatus.REJECTED]).count()
    return (
        f"  Investigations: {done.count()} by the agent on severe open cases, {decided} proposals decided, "
        f"{waiting} waiting in /recommendations/."
    )
