"""SLA watch: warn the assignee and the team lead before a case's SLA breaches; on breach, escalate it to
its team's escalation target. Both are on the timeline, in the audit trail and in the outbox.

Run by the beat task (`sla_sweep`) across organisations; each case is handled once (sla_warned_at,
sla_breached_at), under its row lock, so overlapping sweeps do nothing twice.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cases.models import Case, CaseEvent, Team
from cases.services.assignment import case_auto_assign
from cases.services.lifecycle import TRANSITIONS, lock_case, record_change
from notifications.models import Kind as NotificationKind
from notifications.services import notification_send
from organisations.context import organisation_context
from organisations.models import Organisation

SLA_WATCH = "system:sla"
# Cases handled per organisation and sweep; the rest wait for the next sweep (a minute later by default).
SWEEP_LIMIT = 500


def case_sla_warn(*, case: Case, now=None) -> bool:
    """Tell the assignee and the team lead that the SLA nears; False when already told or no longer due."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case)
        if not case.is_open or case.sla_warned_at is not None or case.sla_due_at <= now:
            return False
        team = Team.objects.filter(pk=case.team_id).select_related("lead").first()
        told = [person for person in (case.assignee, getattr(team, "lead", None)) if person is not None]
        case.sla_warned_at = now
        record_change(
            case,
            kind=CaseEvent.Kind.SLA_WARNING,
            actor=SLA_WATCH,
            data={"due_at": case.sla_due_at.isoformat(), "notified": sorted({p.get_username() for p in told})},
            action="case.sla_warning",
        )
        notification_send(
            users=told,
            kind=NotificationKind.SLA,
            title=f"{case.reference} breaches its SLA at {case.sla_due_at:%Y-%m-%d %H:%M} UTC",
            body=f"{case.get_severity_display()}: {case.title}",
            url=f"/cases/{case.reference}/",
        )
    return True


def case_sla_breach(*, case: Case, now=None) -> bool:
    """Record the breach; move the case to its team's escalation team (status escalated where the lifecycle
    allows, unassigned so the new team picks it up), and tell the assignee and both leads."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case)
        if not case.is_open or case.sla_breached_at is not None or case.sla_due_at > now:
            return False
        team = Team.objects.filter(pk=case.team_id).select_related("lead", "escalation_team__lead").first()
        target = team.escalation_team if team is not None else None
        previous_assignee = case.assignee
        data = {
            "due_at": case.sla_due_at.isoformat(),
            "from_team": team.slug if team else None,
            "escalated_to": None,
            "from_status": case.status,
        }
        case.sla_breached_at = now
        if target is not None and not case.is_frozen:
            case.team = target
            data["escalated_to"] = target.slug
            if Case.Status.ESCALATED in TRANSITIONS[case.status]:
                case.status = Case.Status.ESCALATED
            if previous_assignee is not None and not target.members.filter(pk=previous_assignee.pk).exists():
                case.assignee = None
                data["unassigned"] = previous_assignee.get_username()
        record_change(case, kind=CaseEvent.Kind.SLA_BREACHED, actor=SLA_WATCH, data=data, action="case.sla_breached")
        told = [previous_assignee, getattr(team, "lead", None), getattr(target, "lead", None)]
        where = f", escalated to {target.name}" if data["escalated_to"] else ""
        notification_send(
            users=[person for person in told if person is not None],
            kind=NotificationKind.SLA,
            title=f"{case.reference} breached its SLA{where}",
            body=f"{case.get_severity_display()}: {case.title}",
            url=f"/cases/{case.reference}/",
        )
        if data["escalated_to"] and case.assignee_id is None:
            case_auto_assign(case=case)
    return True


def sla_sweep(*, now=None) -> dict[str, int]:
    """One pass over every active organisation: warnings, breaches, and auto-assignment of what waits
    unassigned in a team that assigns automatically. Returns the counts."""
    now = now or timezone.now()
    counts = {"warned": 0, "breached": 0, "assigned": 0}
    for organisation in Organisation.objects.filter(is_active=True):
        with organisation_context(organisation):
            for key, value in sla_sweep_organisation(now=now).items():
                counts[key] += value
    return counts


def sla_sweep_organisation(*, now) -> dict[str, int]:
    window = timedelta(hours=settings.CASES_SLA_WARNING_HOURS)
    open_cases = Case.objects.open()
    due_soon = open_cases.filter(sla_warned_at__isnull=True, sla_due_at__gt=now, sla_due_at__lte=now + window)
    breached = open_cases.filter(sla_breached_at__isnull=True, sla_due_at__lte=now)
    waiting = open_cases.filter(assignee__isnull=True, team__isnull=False).exclude(
        team__assignment=Team.Assignment.MANUAL
    )
    return {
        "warned": sum(case_sla_warn(case=c, now=now) for c in due_soon.order_by("sla_due_at")[:SWEEP_LIMIT]),
        "breached": sum(case_sla_breach(case=c, now=now) for c in breached.order_by("sla_due_at")[:SWEEP_LIMIT]),
        "assigned": sum(
            case_auto_assign(case=c) is not None
            for c in waiting.exclude(status=Case.Status.PENDING_APPROVAL).order_by("opened_at")[:SWEEP_LIMIT]
        ),
    }
