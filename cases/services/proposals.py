"""Deciding the agent's proposals (AgentAction, a kind of approvals' four-eyes request): the agent's system
identity asks, a person accepts or rejects (a reason is required), and an accepted proposal is applied
through the case's own services as that person, so their permissions and four-eyes apply as if they had
done it by hand: a HIGH or CRITICAL closure still waits for its second approver, a drafted rule for a
second person with scoring.manage_rules.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from approvals.kinds import ApprovalKind
from approvals.services import approval_decide
from cases.investigations.policy import ACTION_PERMISSION, OUTCOME_PERMISSION
from cases.models import AgentAction, Case, CaseEvent, Team
from cases.services.closing import case_close
from cases.services.comments import case_comment
from cases.services.lifecycle import case_assign, case_escalate, lock_case, record_change, require_perm
from organisations.selectors import members


def agent_action_decide(*, action: AgentAction, actor, accept: bool, reason: str = "") -> AgentAction:
    """Accept (apply) or reject (with a reason) one proposal, in one transaction with its effects."""
    if not accept and not reason.strip():
        raise ValidationError({"reason": "Say why the proposal is rejected."}, code="required")
    return approval_decide(approval=action, actor=actor, approve=accept, note=reason)


def _check_decider(action: AgentAction, actor) -> None:
    if not Case.objects.visible_to(actor).filter(pk=action.case_id).exists():
        raise PermissionDenied("You cannot see this proposal's case.")
    require_perm(actor, ACTION_PERMISSION[action.action_kind])
    if action.action_kind == AgentAction.Kind.CLOSE_AS:
        require_perm(actor, OUTCOME_PERMISSION.get(action.payload.get("outcome"), "cases.propose_closure"))


def _apply(action: AgentAction, actor) -> None:
    """Apply an accepted proposal through the normal services, as `actor`; note what it did."""
    case = lock_case(action.case)
    payload = action.payload or {}
    kind = action.action_kind
    effect: dict = {}
    if kind == AgentAction.Kind.CLOSE_AS:
        case = case_close(
            case=case,
            outcome=payload.get("outcome", ""),
            rationale=payload.get("rationale") or action.rationale,
            actor=actor,
        )
        effect = {"case_status": case.status, "outcome": payload.get("outcome")}
        if case.status == Case.Status.PENDING_APPROVAL:
            effect["waits_for"] = "a second approver of the closure"
    elif kind == AgentAction.Kind.ESCALATE:
        team = Team.objects.filter(slug=payload.get("team", "")).first()
        case = case_escalate(case=case, actor=actor, reason=payload.get("reason") or action.rationale, team=team)
        effect = {"case_status": case.status, "team": payload.get("team")}
    elif kind == AgentAction.Kind.ASSIGN:
        assignee = members().filter(username=payload.get("assignee", ""), is_active=True).first()
        if assignee is None:
            raise ValidationError({"assignee": "The proposed assignee is no longer an active member."})
        case = case_assign(case=case, assignee=assignee, actor=actor)
        effect = {"assignee": assignee.get_username()}
    elif kind == AgentAction.Kind.REQUEST_INFORMATION:
        comment = case_comment(
            case=case, body=f"Information requested: {payload.get('question') or action.rationale}", author=actor
        )
        effect = {"comment_id": comment.pk}
    elif kind == AgentAction.Kind.DRAFT_RULE:
        from scoring.services.rule_drafts import rule_draft_propose

        activation = rule_draft_propose(
            spec=payload.get("rule") or {}, actor=actor, reason=f"drafted by investigation {action.investigation_id}"
        )
        effect = {
            "rule": activation.rule.code,
            "activation_request": activation.pk,
            "waits_for": "a second person with scoring.manage_rules",
        }
    action.effect = effect
    action.applied_at = None if "waits_for" in effect else timezone.now()
    action.save(update_fields=["effect", "applied_at"])
    _record(action, actor, accepted=True)


def _rejected(action: AgentAction, actor) -> None:
    _record(action, actor, accepted=False)


def _record(action: AgentAction, actor, *, accepted: bool) -> None:
    """The decision on the case's timeline, in the audit chain and the outbox."""
    case = lock_case(action.case)
    record_change(
        case,
        kind=CaseEvent.Kind.PROPOSAL_DECIDED,
        actor=actor,
        data={
            "agent_action_id": action.pk,
            "investigation_id": action.investigation_id,
            "proposal": action.action_kind,
            "accepted": accepted,
            "reason": action.decision_note,
            "effect": action.effect,
        },
        action="agent_action.accepted" if accepted else "agent_action.rejected",
    )


def describe(action: AgentAction) -> str:
    """One line: what the agent proposes."""
    payload = action.payload or {}
    if action.action_kind == AgentAction.Kind.CLOSE_AS:
        return f"Close as {str(payload.get('outcome', '')).replace('_', ' ')}"
    if action.action_kind == AgentAction.Kind.ESCALATE:
        return f"Escalate to {payload.get('team')}"
    if action.action_kind == AgentAction.Kind.ASSIGN:
        return f"Assign to {payload.get('assignee')}"
    if action.action_kind == AgentAction.Kind.DRAFT_RULE:
        return f"Draft rule {(payload.get('rule') or {}).get('code', '')}"
    return "Request information"


AGENT_ACTION = ApprovalKind(
    model=AgentAction,
    name="agent_action",
    label="Agent proposal",
    request_permission="cases.propose_agent_action",
    decide_permission="cases.decide_agent_action",
    visible_to=lambda user: AgentAction.objects.filter(case__in=Case.objects.visible_to(user)).select_related(
        "case", "investigation"
    ),
    subject=lambda action: (action.case.reference, reverse("cases:detail", args=[action.case.reference])),
    summary=lambda action: f"{describe(action)}: {action.rationale}",
    on_approved=_apply,
    on_rejected=_rejected,
    lock_subject=lambda action: lock_case(action.case),
    check_decider=_check_decider,
)
