"""A case's lifecycle: assign, claim, change status, escalate, share, edit. Legal transitions only.

Every change takes the case's row lock, then writes a CaseEvent, a simple-history record, an audit
event and an outbox event in one transaction, and hints the live pages after commit.
"""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit.services import actor_label, audit_log
from cases.models import PRIORITY_FOR_SEVERITY, SEVERITY_ORDER, Case, CaseEvent, Priority, Severity, Team
from cases.services.live import notify_case_changed
from cases.services.opening import sla_due_at
from kernel.errors import Conflict
from kernel.events import publish
from notifications.models import Kind as NotificationKind
from notifications.services import notification_send

Status = Case.Status

# Statuses an analyst may move a case between by hand. pending_approval and closed are reached only
# through closing (cases.services.closing), which applies four-eyes where required.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.TRIAGE, Status.INVESTIGATING, Status.ESCALATED}),
    Status.TRIAGE: frozenset({Status.INVESTIGATING, Status.ESCALATED}),
    Status.INVESTIGATING: frozenset({Status.TRIAGE, Status.ESCALATED}),
    Status.ESCALATED: frozenset({Status.TRIAGE, Status.INVESTIGATING}),
    Status.PENDING_APPROVAL: frozenset(),
    Status.CLOSED: frozenset(),
}


def check_not_frozen(case: Case) -> None:
    """A case whose closure waits for approval changes only through that decision (comments aside)."""
    if case.is_frozen:
        raise Conflict(
            "This case waits for the approval of its closure: only comments are possible until it is decided.",
            code="case_frozen",
        )


def check_version(case: Case, version: int | None) -> None:
    """A change made on the page or API reading `version` of the case; refused when the case has moved on.

    None: the caller did not say which version it saw (scripts, the admin), and the change applies as is.
    """
    if version is not None and version != case.version:
        raise Conflict(
            f"This case changed since you opened it (you saw version {version}, it is now at {case.version}): "
            "reload it to see what changed, then try again.",
            code="stale_version",
            details={"version": version, "current_version": case.version},
        )


def allowed_transitions(case: Case) -> list[str]:
    return [status for status in Status.values if status in TRANSITIONS[case.status]]


def require_perm(actor, perm: str) -> None:
    if not (isinstance(actor, AbstractBaseUser) and actor.is_active and actor.has_perm(perm)):
        raise PermissionDenied(f"You need the {perm} permission for this.")


def lock_case(case: Case) -> Case:
    """Re-read the case under its row lock (select_for_update); callers hold an atomic block."""
    return Case.objects.select_for_update().get(pk=case.pk)


def record_change(case: Case, *, kind: str, actor, data: dict, action: str, reason: str = "") -> CaseEvent:
    """The evidence of one change: timeline entry, history record, audit event, outbox event, live hint."""
    now = timezone.now()
    case.version += 1
    case._change_reason = reason or kind
    case._history_user = actor if isinstance(actor, AbstractBaseUser) else None
    case.save()
    event = CaseEvent.objects.create(case=case, kind=kind, actor=actor_label(actor), data=data, created_at=now)
    audit_log(
        actor=actor,
        action=action,
        object_type="case",
        object_id=case.reference,
        payload={"account_id": case.account_id, "status": case.status, **data},
    )
    publish(action, {"reference": case.reference, "status": case.status, "severity": case.severity, **data})
    notify_case_changed(
        case_id=case.pk, reference=case.reference, team_id=case.team_id, user_ids=[case.assignee_id], kind=kind
    )
    return event


def check_assignable(case: Case, assignee: AbstractBaseUser | None, *, actor) -> None:
    require_perm(actor, "cases.work_case")
    if assignee is not None and assignee.pk != getattr(actor, "pk", None):
        require_perm(actor, "cases.assign_case")
    if assignee is not None:
        if not (assignee.is_active and assignee.has_perm("cases.work_case")):
            raise ValidationError({"assignee": f"{assignee.get_username()} cannot work cases."}, code="invalid")
        if not Case.objects.visible_to(assignee).filter(pk=case.pk).exists():
            raise ValidationError(
                {"assignee": f"{assignee.get_username()} cannot see this case; escalate or share it first."},
                code="invalid",
            )
    if not case.is_open:
        raise Conflict("A closed case cannot be reassigned.", code="case_closed")
    check_not_frozen(case)


def case_assign(*, case: Case, assignee: AbstractBaseUser | None, actor, version: int | None = None) -> Case:
    """Assign `case` to `assignee` (None unassigns). Claiming is assigning to yourself."""
    check_assignable(case, assignee, actor=actor)
    with transaction.atomic():
        case = lock_case(case)
        check_version(case, version)
        check_assignable(case, assignee, actor=actor)
        previous = case.assignee.get_username() if case.assignee_id else None
        if case.assignee_id == getattr(assignee, "pk", None):
            return case
        case.assignee = assignee
        record_change(
            case,
            kind=CaseEvent.Kind.ASSIGNED,
            actor=actor,
            data={"from": previous, "to": assignee.get_username() if assignee else None},
            action="case.assigned",
        )
        notify_assignee(case, actor=actor)
    return case


def notify_assignee(case: Case, *, actor, why: str = "assigned to you") -> None:
    """Tell the case's assignee (unless they did it themselves) in their bell and by their email choice."""
    if case.assignee_id is None:
        return
    notification_send(
        users=[case.assignee],
        kind=NotificationKind.ASSIGNMENT,
        title=f"{case.reference} {why}",
        body=f"{case.get_severity_display()}: {case.title}",
        url=f"/cases/{case.reference}/",
        actor=actor,
    )


def case_assign_many(*, cases: Sequence[Case], assignee: AbstractBaseUser | None, actor) -> list[Case]:
    """Bulk assign (worklist): all or nothing, each case with its own evidence."""
    with transaction.atomic():
        return [case_assign(case=case, assignee=assignee, actor=actor) for case in cases]


def case_transition(*, case: Case, status: str, actor, reason: str = "", version: int | None = None) -> Case:
    """Move the case to `status` (a legal transition), as seen at `version` (a stale one is a Conflict)."""
    require_perm(actor, "cases.work_case")
    if status not in Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}."}, code="invalid")
    with transaction.atomic():
        case = lock_case(case)
        check_version(case, version)
        if status not in TRANSITIONS[case.status]:
            raise Conflict(
                f"A case cannot go from {case.status} to {status}"
                + (
                    " (close it with an outcome instead)."
                    if status in {Status.CLOSED, Status.PENDING_APPROVAL}
                    else "."
                ),
                code="illegal_transition",
            )
        previous = case.status
        case.status = status
        record_change(
            case,
            kind=CaseEvent.Kind.STATUS_CHANGED,
            actor=actor,
            data={"from": previous, "to": status, "reason": reason},
            action="case.updated",
            reason=reason,
        )
    return case


def case_escalate(
    *,
    case: Case,
    actor,
    reason: str,
    team: Team | None = None,
    assignee: AbstractBaseUser | None = None,
    version: int | None = None,
) -> Case:
    """Escalate to a team and/or a person, with a reason; the case moves to `escalated`."""
    require_perm(actor, "cases.escalate_case")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the case is escalated."}, code="required")
    if team is None and assignee is None:
        raise ValidationError({"team": "Escalate to a team or a person."}, code="required")
    if assignee is not None and not (assignee.is_active and assignee.has_perm("cases.work_case")):
        raise ValidationError({"assignee": f"{assignee.get_username()} cannot work cases."}, code="invalid")
    with transaction.atomic():
        case = lock_case(case)
        check_version(case, version)
        check_not_frozen(case)
        if Status.ESCALATED not in TRANSITIONS[case.status]:
            raise Conflict(f"A {case.status} case cannot be escalated.", code="illegal_transition")
        data = {"from": case.status, "reason": reason.strip(), "team": None, "assignee": None}
        case.status = Status.ESCALATED
        if team is not None:
            case.team = team
            data["team"] = team.slug
        if assignee is not None:
            case.assignee = assignee
            data["assignee"] = assignee.get_username()
            if not Case.objects.visible_to(assignee).filter(pk=case.pk).exists() and (
                team is None or not team.members.filter(pk=assignee.pk).exists()
            ):
                assign_perm("view_case", assignee, case)
        record_change(case, kind=CaseEvent.Kind.ESCALATED, actor=actor, data=data, action="case.escalated")
        if assignee is not None:
            notify_assignee(case, actor=actor, why="escalated to you")
    return case


def case_share(*, case: Case, user: AbstractBaseUser, actor) -> Case:
    """Let one more person see and work this case (a guardian object permission)."""
    require_perm(actor, "cases.assign_case")
    with transaction.atomic():
        case = lock_case(case)
        check_not_frozen(case)
        assign_perm("view_case", user, case)
        record_change(
            case, kind=CaseEvent.Kind.SHARED, actor=actor, data={"with": user.get_username()}, action="case.shared"
        )
    notify_case_changed(case_id=case.pk, reference=case.reference, team_id=None, user_ids=[user.pk], kind="shared")
    return case


EDITABLE_FIELDS = ("title", "priority", "severity")


def case_update(*, case: Case, actor, version: int | None = None, **changes) -> Case:
    """Edit title, priority or severity (a severity change moves the SLA deadline from the opening time).

    Lowering the severity needs cases.approve_closure; the case keeps the highest severity it has had
    (peak_severity), which is what four-eyes on its closure follows.
    """
    require_perm(actor, "cases.work_case")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({field: "This field cannot be changed here." for field in unknown}, code="invalid")
    errors = {}
    if "title" in changes and not str(changes["title"]).strip():
        errors["title"] = "A case needs a title."
    if "priority" in changes and changes["priority"] not in Priority.values:
        errors["priority"] = f"Priority is one of {Priority.values}."
    if "severity" in changes and changes["severity"] not in Severity.values:
        errors["severity"] = f"Severity is one of {Severity.values}."
    if errors:
        raise ValidationError(errors, code="invalid")
    with transaction.atomic():
        case = lock_case(case)
        check_version(case, version)
        if not case.is_open:
            raise Conflict("A closed case cannot be edited.", code="case_closed")
        check_not_frozen(case)
        diff = {f: {"from": getattr(case, f), "to": v} for f, v in changes.items() if getattr(case, f) != v}
        if not diff:
            return case
        if "severity" in diff and SEVERITY_ORDER[changes["severity"]] < SEVERITY_ORDER[case.severity]:
            require_perm(actor, "cases.approve_closure")
        for field_name, value in changes.items():
            if field_name == "severity":
                case.note_severity(value)
            else:
                setattr(case, field_name, value)
        if "severity" in diff:
            case.sla_due_at = sla_due_at(case.severity, start=case.opened_at)
            if "priority" not in changes:
                case.priority = PRIORITY_FOR_SEVERITY[case.severity]
        record_change(case, kind=CaseEvent.Kind.UPDATED, actor=actor, data={"changes": diff}, action="case.updated")
    return case
