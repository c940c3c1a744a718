"""Automatic assignment inside a team: round-robin or least-loaded among the members who take cases now.

A member takes cases when they may work cases, are active, are marked available and are not out of office
(`Availability`; no row means available). Picks within a team are serialised by the team's row lock, so
two cases opened together never both go to the same "next" person of a round-robin.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from audit.services import audit_log
from cases.models import Availability, Case, CaseEvent, Team
from cases.services.lifecycle import lock_case, notify_assignee, record_change
from organisations.selectors import members

AUTO_ASSIGNER = "system:auto-assignment"


def team_takers(team: Team, *, now=None) -> list[AbstractBaseUser]:
    """The team's members who take automatically assigned cases now, by id."""
    now = now or timezone.now()
    people = list(
        members(users=team.members.all())
        .filter(
            is_active=True,
            groups__permissions__codename="work_case",
            groups__permissions__content_type__app_label="cases",
        )
        .distinct()
        .order_by("pk")
    )
    away = {
        row.user_id
        for row in Availability.objects.filter(user_id__in=[p.pk for p in people])
        if not row.takes_cases(now)
    }
    return [person for person in people if person.pk not in away]


def pick_assignee(team: Team, takers: list[AbstractBaseUser]) -> AbstractBaseUser | None:
    """Round-robin: the next taker after the one who had the last case. Least-loaded: the taker with the
    fewest open cases (ties to the lowest id)."""
    if not takers:
        return None
    if team.assignment == Team.Assignment.ROUND_ROBIN:
        after = [person for person in takers if team.last_assigned_id is not None and person.pk > team.last_assigned_id]
        return after[0] if after else takers[0]
    load = dict(
        Case.objects.open()
        .filter(assignee_id__in=[p.pk for p in takers])
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    return min(takers, key=lambda person: (load.get(person.pk, 0), person.pk))


def case_auto_assign(*, case: Case) -> Case | None:
    """Assign an open, unassigned case of a team that assigns automatically; None when nothing was done
    (assigned already, a team that assigns by hand, or nobody takes cases now: it waits in the queue)."""
    if case.team_id is None:
        return None
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=case.team_id)  # serialises picks within the team
        case = lock_case(case)
        if (
            team.assignment == Team.Assignment.MANUAL
            or case.team_id != team.pk
            or case.assignee_id is not None
            or not case.is_open
            or case.is_frozen
        ):
            return None
        assignee = pick_assignee(team, team_takers(team))
        if assignee is None:
            return None
        case.assignee = assignee
        record_change(
            case,
            kind=CaseEvent.Kind.ASSIGNED,
            actor=AUTO_ASSIGNER,
            data={"from": None, "to": assignee.get_username(), "auto": team.assignment},
            action="case.assigned",
        )
        # A plain UPDATE: the round-robin pointer is bookkeeping, not a change of the team to keep in its history.
        Team.objects.filter(pk=team.pk).update(last_assigned=assignee)
        notify_assignee(case, actor=AUTO_ASSIGNER, why=f"assigned to you ({team.get_assignment_display().lower()})")
    return case


def cases_auto_assign(*, case_ids: list[int]) -> int:
    """Auto-assign each of these cases (each in its own transaction); returns how many were assigned."""
    assigned = 0
    for case in Case.objects.filter(pk__in=case_ids).order_by("opened_at", "pk"):
        assigned += case_auto_assign(case=case) is not None
    return assigned


def availability_set(*, user, actor, is_available: bool, out_of_office_until=None, note: str = "") -> Availability:
    """Mark `user` available or not for automatic assignment, and out of office until a time. People set
    their own; setting someone else's needs cases.assign_case."""
    if not isinstance(actor, get_user_model()) or not actor.is_active:
        raise ValidationError("Only a person may set availability.")
    if actor.pk != user.pk and not actor.has_perm("cases.assign_case"):
        raise PermissionDenied("You need the cases.assign_case permission to set someone else's availability.")
    if out_of_office_until is not None and out_of_office_until <= timezone.now():
        raise ValidationError({"out_of_office_until": "Out of office until a time to come."}, code="invalid")
    if len(note) > 200:
        raise ValidationError({"note": "At most 200 characters."}, code="max_length")
    with transaction.atomic():
        row, _ = Availability.objects.update_or_create(
            user=user,
            defaults={"is_available": is_available, "out_of_office_until": out_of_office_until, "note": note.strip()},
        )
        audit_log(
            actor=actor,
            action="availability.set",
            object_type="user",
            object_id=user.get_username(),
            payload={
                "is_available": is_available,
                "out_of_office_until": out_of_office_until.isoformat() if out_of_office_until else None,
            },
        )
    return row
