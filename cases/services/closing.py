"""Closing a case with an outcome, and four-eyes approval where a second person must agree.

Closing a HIGH or CRITICAL case, or any SAR filing, creates a pending Approval and parks the case in
`pending_approval`; a different person with cases.approve_closure approves (the case closes and its
transactions get labels) or rejects (the case goes back to where it was).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import Approval, Case, CaseEvent, Severity
from cases.services.lifecycle import CaseConflict, lock_case, record_change, require_perm
from scoring.models import Label
from scoring.services import record_labels

Status = Case.Status
Outcome = Case.Outcome

# What an outcome teaches the model. "No action" says nothing about fraud, so it leaves labels alone.
LABEL_FOR_OUTCOME = {
    Outcome.CONFIRMED_FRAUD: Label.FRAUD,
    Outcome.SAR_FILED: Label.FRAUD,
    Outcome.FALSE_POSITIVE: Label.LEGIT,
}
FOUR_EYES_SEVERITIES = frozenset({Severity.HIGH, Severity.CRITICAL})


def approval_reason(case: Case, outcome: str) -> str:
    """Why closing `case` as `outcome` needs a second person, or "" when it does not."""
    if outcome == Outcome.SAR_FILED:
        return "A SAR filing always needs a second approver."
    if case.severity in FOUR_EYES_SEVERITIES:
        return f"Closing a {case.severity} case needs a second approver."
    return ""


def check_close(case: Case, *, outcome: str, rationale: str, actor) -> None:
    require_perm(actor, "cases.propose_closure")
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = f"Outcome is one of {', '.join(Outcome.values)}."
    if not rationale.strip():
        errors["rationale"] = "Closing a case needs a rationale."
    if errors:
        raise ValidationError(errors, code="invalid")
    if case.status == Status.PENDING_APPROVAL:
        raise CaseConflict("This case is already waiting for an approval.", code="approval_pending")
    if not case.is_open:
        raise CaseConflict("This case is already closed.", code="case_closed")


def case_close(*, case: Case, outcome: str, rationale: str, actor) -> Case:
    """Close `case`, or propose its closure for approval when four-eyes applies. Returns the case."""
    check_close(case, outcome=outcome, rationale=rationale, actor=actor)
    with transaction.atomic():
        case = lock_case(case)
        check_close(case, outcome=outcome, rationale=rationale, actor=actor)
        reason = approval_reason(case, outcome)
        if not reason:
            return _close_locked(case, outcome=outcome, rationale=rationale.strip(), actor=actor, approval=None)
        approval = Approval.objects.create(
            case=case,
            outcome=outcome,
            rationale=rationale.strip(),
            reason=reason,
            previous_status=case.status,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        previous = case.status
        case.status = Status.PENDING_APPROVAL
        record_change(
            case,
            kind=CaseEvent.Kind.CLOSURE_PROPOSED,
            actor=actor,
            data={
                "from": previous,
                "outcome": outcome,
                "rationale": approval.rationale,
                "approval_id": approval.pk,
                "reason": reason,
            },
            action="approval.requested",
        )
    return case


def check_decide(approval: Approval, *, actor) -> None:
    require_perm(actor, "cases.approve_closure")
    if approval.status != Approval.Status.PENDING:
        raise CaseConflict(f"This approval was already {approval.status}.", code="approval_decided")
    if approval.requested_by_id == actor.pk:
        raise PermissionDenied("Four-eyes: you cannot approve or reject your own request.")
    if approval.outcome == Outcome.SAR_FILED:
        require_perm(actor, "cases.file_sar")


def approval_approve(*, approval: Approval, actor, comment: str = "") -> Approval:
    """Approve a pending closure: the case closes with the proposed outcome and labels are recorded."""
    check_decide(approval, actor=actor)
    with transaction.atomic():
        case = lock_case(approval.case)
        approval = Approval.objects.select_for_update().get(pk=approval.pk)
        check_decide(approval, actor=actor)
        _decide(approval, status=Approval.Status.APPROVED, actor=actor, comment=comment)
        _close_locked(case, outcome=approval.outcome, rationale=approval.rationale, actor=actor, approval=approval)
    return approval


def approval_reject(*, approval: Approval, actor, comment: str) -> Approval:
    """Reject a pending closure, with a comment; the case returns to the status it had."""
    if not comment.strip():
        raise ValidationError({"comment": "Say why the closure is rejected."}, code="required")
    check_decide(approval, actor=actor)
    with transaction.atomic():
        case = lock_case(approval.case)
        approval = Approval.objects.select_for_update().get(pk=approval.pk)
        check_decide(approval, actor=actor)
        _decide(approval, status=Approval.Status.REJECTED, actor=actor, comment=comment)
        case.status = approval.previous_status
        record_change(
            case,
            kind=CaseEvent.Kind.CLOSURE_REJECTED,
            actor=actor,
            data={
                "approval_id": approval.pk,
                "outcome": approval.outcome,
                "comment": approval.decision_comment,
                "requested_by": approval.requested_by.get_username(),
                "to": case.status,
            },
            action="approval.rejected",
        )
    return approval


def _decide(approval: Approval, *, status: str, actor: AbstractBaseUser, comment: str) -> None:
    approval.status = status
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_comment = comment.strip()
    approval._history_user = actor
    approval.save()


def _close_locked(case: Case, *, outcome: str, rationale: str, actor, approval: Approval | None) -> Case:
    """Close a case whose row lock the caller holds; record labels from the outcome."""
    if approval is not None:
        record_change(
            case,
            kind=CaseEvent.Kind.CLOSURE_APPROVED,
            actor=actor,
            data={
                "approval_id": approval.pk,
                "outcome": outcome,
                "comment": approval.decision_comment,
                "requested_by": approval.requested_by.get_username(),
            },
            action="approval.approved",
        )
    previous = case.status if approval is None else approval.previous_status
    case.status = Status.CLOSED
    case.outcome = outcome
    case.rationale = rationale
    case.closed_at = timezone.now()
    label = LABEL_FOR_OUTCOME.get(outcome)
    labelled = 0
    if label is not None:
        transaction_ids = list(case.links.values_list("transaction_id", flat=True))
        labelled = record_labels(transaction_ids=transaction_ids, label=label, actor=actor)
    record_change(
        case,
        kind=CaseEvent.Kind.CLOSED,
        actor=actor,
        data={
            "from": previous,
            "outcome": outcome,
            "rationale": rationale,
            "label": label,
            "labelled": labelled,
            "approval_id": approval.pk if approval else None,
        },
        action="case.closed",
    )
    return case
