"""Feedback on one decision: an analyst marks a transaction's decision a false positive or confirms it, with a
reason, and the case stays open. The label it gives goes through scoring.services.record_labels, which is
what the model leaderboard's evaluations, experiments' precision and retraining read."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseTransaction, DecisionReview
from cases.services.lifecycle import check_not_frozen, lock_case, record_change, require_perm
from kernel.errors import Conflict
from scoring.models import Label
from scoring.services import record_labels

LABEL_FOR_VERDICT = {
    DecisionReview.Verdict.FALSE_POSITIVE: Label.LEGIT,
    DecisionReview.Verdict.CONFIRMED: Label.FRAUD,
}


def decision_review(*, case: Case, transaction_id: int, verdict: str, reason: str, actor) -> DecisionReview:
    require_perm(actor, "cases.work_case")
    require_perm(actor, "cases.add_decisionreview")
    errors = {}
    if verdict not in DecisionReview.Verdict.values:
        errors["verdict"] = f"Verdict is one of {', '.join(DecisionReview.Verdict.values)}."
    if not reason.strip():
        errors["reason"] = "Say why."
    if errors:
        raise ValidationError(errors, code="invalid")
    link = CaseTransaction.objects.filter(case=case, transaction_id=transaction_id).select_related("transaction")
    link = link.first()
    if link is None:
        raise ValidationError({"transaction": "That transaction is not in this case."}, code="invalid")
    with transaction.atomic():
        case = lock_case(case)
        if not case.is_open:
            raise Conflict("A closed case's decisions were labelled by its outcome.", code="case_closed")
        check_not_frozen(case)
        label = LABEL_FOR_VERDICT[verdict]
        record_labels(transaction_ids=[link.transaction_id], label=label, actor=actor)
        review = DecisionReview.objects.create(
            case=case,
            transaction_id=link.transaction_id,
            verdict=verdict,
            reason=reason.strip(),
            reviewed_by=actor,
            reviewed_at=timezone.now(),
        )
        record_change(
            case,
            kind=CaseEvent.Kind.DECISION_REVIEWED,
            actor=actor,
            data={
                "review_id": review.pk,
                "transaction_id": link.transaction_id,
                "external_id": link.transaction.external_id,
                "verdict": verdict,
                "label": label,
                "reason": review.reason,
            },
            action="case.decision_reviewed",
        )
    return review
