"""Evidence exports in the month: late on its last day the compliance officer exports the signed bundle of the
latest case closed as confirmed fraud, the SAR package of the latest case closed as SAR filed (when the month
has one), and the audit trail of the last day; the exports pages list them, each with its audit events."""

from datetime import timedelta
from functools import partial

from django.utils import timezone

from cases.models import Case
from evidence.keys import signing_key_available
from evidence.models import ExportRecord
from evidence.services import audit_export, case_export
from finobs.demo import Demo
from finobs.demo.casework import QUIET_MINUTES

EXPORT_MINUTES_BEFORE_END = QUIET_MINUTES + 40
AUDIT_EXPORT_HOURS = 24


def exports(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not signing_key_available():
        return "  Exports: none (no signing key at EXPORT_SIGNING_KEY_PATH; see docs/exports.md)."
    if not demo.is_new:
        return _exports_line()
    demo.at(demo.end - timedelta(minutes=EXPORT_MINUTES_BEFORE_END), partial(_export, demo))
    return None


def _export(demo: Demo) -> None:
    officer = demo.user("compliance")
    closed = Case.objects.filter(status=Case.Status.CLOSED).order_by("-closed_at", "-id")
    if fraud := closed.filter(outcome=Case.Outcome.CONFIRMED_FRAUD).first():
        case_export(case=fraud, sar=False, actor=officer)
    if sar := closed.filter(outcome=Case.Outcome.SAR_FILED, sar_draft__isnull=False).first():
        case_export(case=sar, sar=True, actor=officer)
    now = timezone.now()
    audit_export(since=now - timedelta(hours=AUDIT_EXPORT_HOURS), until=now, actor=officer)
    demo.write(_exports_line())


def _exports_line() -> str:
    done = ExportRecord.objects.filter(status=ExportRecord.Status.DONE).order_by("created_at")
    listed = ", ".join(_described(record) for record in done)
    return f"  Exports: {done.count()} signed bundles ({listed or 'none'})."


def _described(record: ExportRecord) -> str:
    kind = record.get_kind_display().lower()
    return kind if record.kind == ExportRecord.Kind.AUDIT else f"{kind} {record.subject}"
