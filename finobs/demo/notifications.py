"""The bell in the month: the SLA watch runs through it as beat runs it (warnings before a case's SLA ends,
the breach of the one case left to breach), a colleague hands the analyst a case and asks the viewer about
one late on the last day, and everyone has read what came before that day. Each demo role finds unread
notifications: mentions, assignments, SLA warnings and proposals and closures waiting for their decision."""

from datetime import timedelta
from functools import partial

from django.utils import timezone

from cases.models import Case
from cases.services import case_assign, case_comment
from cases.services.sla import sla_sweep_organisation
from finobs.demo import Demo
from finobs.demo.casework import QUIET_MINUTES
from finobs.demo.people import COLLEAGUES, ORGANISATION_ROLES
from notifications.models import Notification
from notifications.services import notifications_mark_read

SLA_SWEEP_EVERY_MINUTES = 60  # beat sweeps every minute; hourly is within the warning window (4 hours)
HAND_OVER_MINUTES_BEFORE_END = QUIET_MINUTES + 50
READ_MINUTES_BEFORE_END = QUIET_MINUTES + 1
READ_BEFORE_HOURS = 24  # what the bell still shows unread: the last day's
VIEWER_QUESTION = "@{who} the customer's complaint on this one is in; worth a line in this week's fraud report."


def notifications(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        return _unread_line(demo)
    when = demo.start
    while when < demo.end:
        demo.at(when, _sla_sweep)
        when += timedelta(minutes=SLA_SWEEP_EVERY_MINUTES)
    demo.at(demo.end - timedelta(minutes=HAND_OVER_MINUTES_BEFORE_END), partial(_hand_over, demo))
    demo.at(demo.end - timedelta(minutes=READ_MINUTES_BEFORE_END), partial(_read_earlier, demo))
    return None


def _sla_sweep() -> None:
    sla_sweep_organisation(now=timezone.now())


def _hand_over(demo: Demo) -> None:
    """A colleague passes the analyst one of their open cases, and asks the viewer about a fraud-ops case."""
    colleague = demo.user(COLLEAGUES[0])
    open_cases = Case.objects.open().exclude(status=Case.Status.PENDING_APPROVAL).order_by("-opened_at", "-id")
    if theirs := open_cases.filter(assignee=colleague).first():
        case_assign(case=theirs, assignee=demo.user("analyst"), actor=colleague)
    if shown := open_cases.filter(team=demo.teams["fraud-ops"]).first():
        body = VIEWER_QUESTION.format(who=demo.user("viewer").get_username())
        case_comment(case=shown, body=body, author=colleague)


def _read_earlier(demo: Demo) -> None:
    before = timezone.now() - timedelta(hours=READ_BEFORE_HOURS)
    for user in demo.users.values():
        earlier = Notification.objects.filter(user=user, read_at__isnull=True, created_at__lt=before)
        notifications_mark_read(user=user, ids=earlier.values_list("pk", flat=True))
    demo.write(_unread_line(demo))


def _unread_line(demo: Demo) -> str:
    unread = Notification.objects.filter(read_at__isnull=True)
    counts = ", ".join(f"{demo.user(role).get_username()} {unread.filter(user=demo.user(role)).count()}"
                       for role in ORGANISATION_ROLES)  # fmt: skip
    return f"  Notifications: unread in the bell: {counts}."
