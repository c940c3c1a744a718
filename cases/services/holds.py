"""Legal holds: compliance keeps a case (open or closed) out of retention for as long as a matter requires."""

from django.core.exceptions import ValidationError
from django.db import transaction

from cases.models import Case, CaseEvent
from cases.services.lifecycle import lock_case, record_change, require_perm


def case_legal_hold(*, case: Case, hold: bool, reason: str, actor) -> Case:
    """Place `case` under legal hold (`hold`) or release it; a reason is required either way. Audited.

    A held case is never archived or removed by retention (evidence.services.retention)."""
    require_perm(actor, "cases.set_legal_hold")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the legal hold is placed or released."}, code="invalid")
    with transaction.atomic():
        case = lock_case(case)
        if case.legal_hold == hold:
            return case
        case.legal_hold = hold
        case.legal_hold_reason = reason[:500] if hold else ""
        record_change(
            case,
            kind=CaseEvent.Kind.LEGAL_HOLD,
            actor=actor,
            data={"legal_hold": hold, "reason": reason[:500]},
            action="case.legal_hold_placed" if hold else "case.legal_hold_released",
        )
    return case
