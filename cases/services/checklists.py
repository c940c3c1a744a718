"""Closing checklists on a case: ticking items, and refusing a closure whose required items are not ticked."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.models import Case, CaseEvent, ChecklistItem, ChecklistTick, ClosingChecklist
from cases.services.lifecycle import check_not_frozen, lock_case, record_change, require_perm
from kernel.errors import Conflict


@dataclass
class ChecklistState:
    checklist: ClosingChecklist
    items: list[tuple[ChecklistItem, ChecklistTick | None]]

    @property
    def missing(self) -> list[ChecklistItem]:
        return [item for item, tick in self.items if item.is_required and tick is None]


def checklists_for(case: Case, *, outcome: str | None = None) -> list[ChecklistState]:
    """The active checklists that apply to closing `case` (with `outcome`, or any), each item with its tick."""
    checklists = ClosingChecklist.objects.filter(is_active=True).prefetch_related("items").order_by("outcome", "name")
    if outcome is not None:
        checklists = checklists.filter(outcome=outcome)
    applicable = [c for c in checklists if c.applies_to(case)]
    if not applicable:
        return []
    ticks = {t.item_id: t for t in ChecklistTick.objects.filter(case=case).select_related("ticked_by")}
    return [ChecklistState(checklist=c, items=[(i, ticks.get(i.pk)) for i in c.items.all()]) for c in applicable]


def check_checklist_complete(case: Case, *, outcome: str) -> list[dict]:
    """Refuse closing `case` as `outcome` while a required item is unticked; else the ticks, as evidence."""
    states = checklists_for(case, outcome=outcome)
    missing = [item.text for state in states for item in state.missing]
    if missing:
        raise ValidationError(
            {"checklist": f"Tick the closing checklist first: {'; '.join(missing)}."},
            code="checklist_incomplete",
            params={"missing": missing},
        )
    return _ticks(states)


def checklist_evidence(case: Case, *, outcome: str) -> list[dict]:
    """The ticks of the checklists for closing `case` as `outcome`: who ticked what, when."""
    return _ticks(checklists_for(case, outcome=outcome))


def _ticks(states: list[ChecklistState]) -> list[dict]:
    return [
        {
            "checklist": state.checklist.name,
            "item": item.text,
            "ticked_by": tick.ticked_by.get_username(),
            "ticked_at": tick.ticked_at.isoformat(),
        }
        for state in states
        for item, tick in state.items
        if tick is not None
    ]


def checklist_tick(*, case: Case, item: ChecklistItem, actor) -> ChecklistTick:
    """Tick one item of a checklist that applies to the case; records who and when."""
    require_perm(actor, "cases.work_case")
    require_perm(actor, "cases.add_checklisttick")
    if not item.checklist.applies_to(case):
        raise ValidationError({"item": "That checklist does not apply to this case."}, code="invalid")
    with transaction.atomic():
        case = lock_case(case)
        if not case.is_open:
            raise Conflict("A closed case's checklist cannot change.", code="case_closed")
        check_not_frozen(case)
        if ChecklistTick.objects.filter(case=case, item=item).exists():
            raise Conflict(f"“{item.text}” is already ticked.", code="already_ticked")
        try:
            with transaction.atomic():
                tick = ChecklistTick.objects.create(case=case, item=item, ticked_by=actor, ticked_at=timezone.now())
        except IntegrityError as exc:
            raise Conflict(f"“{item.text}” is already ticked.", code="already_ticked") from exc
        record_change(
            case,
            kind=CaseEvent.Kind.CHECKLIST_TICKED,
            actor=actor,
            data={"checklist": item.checklist.name, "outcome": item.checklist.outcome, "item": item.text},
            action="case.checklist_ticked",
        )
    return tick
