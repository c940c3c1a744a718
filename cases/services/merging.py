"""Merging duplicate cases into one, and bulk transition, escalation and closing from the worklist.

A merge moves the duplicates' transactions, comments (with their mentions), attachments, checklist ticks,
decision reviews and timeline into the surviving case; each duplicate closes as "merged" and points to the
survivor, whose reference its own now leads to. Bulk actions run the one-case services for every selected
case in one transaction (all or nothing), so each case gets its own evidence, and closing a HIGH or CRITICAL
case as a false positive still asks for one four-eyes approval per case.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import (
    SEVERITY_ORDER,
    Attachment,
    Case,
    CaseEvent,
    CaseTransaction,
    ChecklistTick,
    Comment,
    DecisionReview,
    Team,
)
from cases.services.closing import case_close
from cases.services.lifecycle import case_escalate, case_transition, check_not_frozen, record_change, require_perm
from kernel.errors import Conflict

MAX_BULK_CASES = 200


def check_merge(survivor: Case, duplicates: Sequence[Case], *, reason: str, actor) -> None:
    require_perm(actor, "cases.work_case")
    require_perm(actor, "cases.merge_case")
    if not reason.strip():
        raise ValidationError({"reason": "Say why these cases are duplicates."}, code="required")
    if not duplicates:
        raise ValidationError({"duplicates": "Choose at least one case to merge into this one."}, code="required")
    if any(d.pk == survivor.pk for d in duplicates):
        raise ValidationError({"duplicates": "A case cannot be merged into itself."}, code="invalid")
    for case in (survivor, *duplicates):
        if not case.is_open:
            raise Conflict(f"{case.reference} is closed: only open cases are merged.", code="case_closed")
        if case.is_frozen:
            raise Conflict(f"{case.reference} waits for the approval of its closure.", code="case_frozen")


def case_merge(*, survivor: Case, duplicates: Sequence[Case], reason: str, actor) -> Case:
    """Merge `duplicates` into `survivor` (all cases the actor may see). Returns the survivor."""
    duplicates = [d for d in dict.fromkeys(duplicates)]
    check_merge(survivor, duplicates, reason=reason, actor=actor)
    with transaction.atomic():
        ids = sorted([survivor.pk, *(d.pk for d in duplicates)])
        locked = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        survivor = locked[survivor.pk]
        duplicates = [locked[d.pk] for d in duplicates]
        check_merge(survivor, duplicates, reason=reason, actor=actor)
        moved = {}
        now = timezone.now()
        for duplicate in duplicates:
            moved[duplicate.reference] = _move_evidence(duplicate, survivor, now=now)
            if SEVERITY_ORDER[duplicate.peak_severity or duplicate.severity] > SEVERITY_ORDER[survivor.peak_severity]:
                survivor.peak_severity = duplicate.peak_severity
            if SEVERITY_ORDER[duplicate.severity] > SEVERITY_ORDER[survivor.severity]:
                survivor.note_severity(duplicate.severity)
            survivor.sla_due_at = min(survivor.sla_due_at, duplicate.sla_due_at)
            previous = duplicate.status
            duplicate.status = Case.Status.CLOSED
            duplicate.outcome = Case.Outcome.MERGED
            duplicate.rationale = f"Merged into {survivor.reference}: {reason.strip()}"
            duplicate.closed_at = now
            duplicate.merged_into = survivor
            record_change(
                duplicate,
                kind=CaseEvent.Kind.MERGED,
                actor=actor,
                data={
                    "from": previous,
                    "into": survivor.reference,
                    "reason": reason.strip(),
                    **moved[duplicate.reference],
                },
                action="case.merged",
            )
        record_change(
            survivor,
            kind=CaseEvent.Kind.MERGED,
            actor=actor,
            data={"merged": [d.reference for d in duplicates], "reason": reason.strip(), "moved": moved},
            action="case.merged",
        )
    return survivor


def _move_evidence(duplicate: Case, survivor: Case, *, now) -> dict:
    """Move what the duplicate holds to the survivor (both locked); returns how much of each moved."""
    already = set(CaseTransaction.objects.filter(case=survivor).values_list("transaction_id", flat=True))
    links = CaseTransaction.objects.filter(case=duplicate)
    # A transaction in both cases stays linked once, to the survivor.
    links.filter(transaction_id__in=already).delete()
    transactions = links.update(case=survivor)
    ticked = set(ChecklistTick.objects.filter(case=survivor).values_list("item_id", flat=True))
    ticks = ChecklistTick.objects.filter(case=duplicate).exclude(item_id__in=ticked).update(case=survivor)
    moved = {
        "transactions": transactions,
        "comments": Comment.objects.filter(case=duplicate).update(case=survivor),
        "attachments": Attachment.objects.filter(case=duplicate).update(case=survivor),
        "checklist_ticks": ticks,
        "decision_reviews": DecisionReview.objects.filter(case=duplicate).update(case=survivor),
    }
    # The duplicate's history joins the survivor's timeline; each entry keeps its time and actor.
    moved["timeline_entries"] = CaseEvent.objects.filter(case=duplicate).update(case=survivor)
    return moved


BULK_ACTIONS = ("transition", "escalate", "close_false_positive")


def cases_bulk_change(
    *,
    cases: Sequence[Case],
    action: str,
    reason: str,
    actor,
    status: str = "",
    team: Team | None = None,
) -> dict[str, int]:
    """One action on many cases, each with the same reason, all or nothing. Returns counts by result.

    A refusal names the case it came from. Closing as a false positive closes LOW and MEDIUM cases and
    proposes the closure of HIGH and CRITICAL ones for approval (one request per case).
    """
    require_perm(actor, "cases.bulk_change_case")
    if action not in BULK_ACTIONS:
        raise ValidationError({"action": f"Action is one of {', '.join(BULK_ACTIONS)}."}, code="invalid")
    if not cases:
        raise ValidationError({"reference": "Select at least one case."}, code="required")
    if len(cases) > MAX_BULK_CASES:
        raise ValidationError({"reference": f"At most {MAX_BULK_CASES} cases at once."}, code="invalid")
    if not reason.strip():
        raise ValidationError({"reason": "A bulk action needs a reason."}, code="required")
    results = {"changed": 0, "closed": 0, "proposed": 0}
    with transaction.atomic():
        for case in sorted(cases, key=lambda c: c.pk):
            try:
                if action == "transition":
                    case_transition(case=case, status=status, reason=reason.strip(), actor=actor)
                    results["changed"] += 1
                elif action == "escalate":
                    check_not_frozen(case)
                    case_escalate(case=case, reason=reason.strip(), team=team, actor=actor)
                    results["changed"] += 1
                else:
                    closed = case_close(case=case, outcome=Case.Outcome.FALSE_POSITIVE, rationale=reason, actor=actor)
                    results["closed" if closed.status == Case.Status.CLOSED else "proposed"] += 1
            except ValidationError as exc:
                raise ValidationError(f"{case.reference}: {' '.join(exc.messages)}", code="bulk_refused") from exc
            except Conflict as exc:
                raise Conflict(f"{case.reference}: {exc.message}", code=exc.code, details=exc.details) from exc
    return results
