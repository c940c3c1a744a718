"""Closing a case with an outcome, and four-eyes approval where a second person must agree.

Closing a HIGH or CRITICAL case, or any SAR filing, requests an Approval (approvals' one four-eyes mechanism)
and parks the case in `pending_approval`; a different person with cases.approve_closure approves (the case
closes and its transactions get labels) or rejects (the case goes back to where it was).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals.kinds import ApprovalKind
from approvals.services import approval_request
from cases.models import Approval, Case, CaseEvent, Severity
from cases.services.checklists import check_checklist_complete, checklist_evidence
from cases.services.lifecycle import check_version, lock_case, record_change, require_perm
from cases.services.sar import sar_draft_decided, sar_draft_prepare
from kernel.errors import Conflict
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
# What a person may close a case as; "merged" is set by merging (cases.services.merging) only.
CLOSING_OUTCOMES = [o for o in Outcome.values if o != Outcome.MERGED]


def approval_reason(case: Case, outcome: str) -> str:
    """Why closing `case` as `outcome` needs a second person, or "" when it does not."""
    if outcome == Outcome.SAR_FILED:
        return "A SAR filing always needs a second approver."
    # The highest severity the case has had: lowering it first does not take a closure past four-eyes.
    if case.peak_severity in FOUR_EYES_SEVERITIES:
        return f"Closing a case that was {case.peak_severity} needs a second approver."
    return ""


def check_close(case: Case, *, outcome: str, rationale: str, actor) -> None:
    require_perm(actor, "cases.propose_closure")
    errors = {}
    if outcome not in CLOSING_OUTCOMES:
        errors["outcome"] = f"Outcome is one of {', '.join(CLOSING_OUTCOMES)}."
    if not rationale.strip():
        errors["rationale"] = "Closing a case needs a rationale."
    if errors:
        raise ValidationError(errors, code="invalid")
    if case.status == Status.PENDING_APPROVAL:
        raise Conflict("This case is already waiting for an approval.", code="approval_pending")
    if not case.is_open:
        raise Conflict("This case is already closed.", code="case_closed")
    check_checklist_complete(case, outcome=outcome)


def case_close(*, case: Case, outcome: str, rationale: str, actor, version: int | None = None) -> Case:
    """Close `case`, or propose its closure for approval when four-eyes applies, as seen at `version` (a
    stale one is a Conflict). Returns the case."""
    check_close(case, outcome=outcome, rationale=rationale, actor=actor)
    with transaction.atomic():
        case = lock_case(case)
        check_version(case, version)
        check_close(case, outcome=outcome, rationale=rationale, actor=actor)
        reason = approval_reason(case, outcome)
        checklist = check_checklist_complete(case, outcome=outcome)
        if not reason:
            return _close_locked(case, outcome=outcome, rationale=rationale.strip(), actor=actor, approval=None)
        approval = approval_request(
            kind=CLOSURE,
            actor=actor,
            case=case,
            outcome=outcome,
            rationale=rationale.strip(),
            reason=reason,
            previous_status=case.status,
        )
        if outcome == Outcome.SAR_FILED:
            sar_draft_prepare(case=case, approval=approval, actor=actor)
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
                "checklist": checklist,
            },
            action="case.closure_proposed",
        )
    return case


def _check_decider(approval: Approval, actor) -> None:
    if approval.outcome == Outcome.SAR_FILED:
        require_perm(actor, "cases.file_sar")


def _closure_approved(approval: Approval, actor) -> None:
    """The case (locked) closes with the proposed outcome, and its transactions get labels."""
    case = lock_case(approval.case)
    record_change(
        case,
        kind=CaseEvent.Kind.CLOSURE_APPROVED,
        actor=actor,
        data=_decision_data(approval),
        action="case.closure_approved",
    )
    _close_locked(case, outcome=approval.outcome, rationale=approval.rationale, actor=actor, approval=approval)
    sar_draft_decided(approval=approval, approved=True)


def _closure_rejected(approval: Approval, actor) -> None:
    """Rejected (or withdrawn by its requester): the case (locked) returns to the status it had."""
    case = lock_case(approval.case)
    sar_draft_decided(approval=approval, approved=False)
    case.status = approval.previous_status
    record_change(
        case,
        kind=CaseEvent.Kind.CLOSURE_REJECTED,
        actor=actor,
        data={**_decision_data(approval), "withdrawn": approval.status == Approval.Status.WITHDRAWN, "to": case.status},
        action="case.closure_rejected",
    )


def _decision_data(approval: Approval) -> dict:
    """What the case's timeline records of a decision on its closure."""
    return {
        "approval_id": approval.pk,
        "outcome": approval.outcome,
        "comment": approval.decision_note,
        "requested_by": approval.requested_by.get_username(),
    }


CLOSURE = ApprovalKind(
    model=Approval,
    name="case_closure",
    label="Case closure",
    request_permission="cases.propose_closure",
    decide_permission="cases.approve_closure",
    visible_to=lambda user: Approval.objects.filter(case__in=Case.objects.visible_to(user)).select_related(
        "case", "case__team"
    ),
    subject=lambda approval: (approval.case.reference, reverse("cases:detail", args=[approval.case.reference])),
    summary=lambda approval: f"Close as {approval.get_outcome_display()}: {approval.rationale}",
    on_approved=_closure_approved,
    on_rejected=_closure_rejected,
    lock_subject=lambda approval: lock_case(approval.case),
    check_decider=_check_decider,
)


def _close_locked(case: Case, *, outcome: str, rationale: str, actor, approval: Approval | None) -> Case:
    """Close a case whose row lock the caller holds; record labels from the outcome."""
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
            "checklist": checklist_evidence(case, outcome=outcome),
        },
        action="case.closed",
    )
    return case
