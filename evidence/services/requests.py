"""What people ask to export: a case (or its SAR package), an audit trail range, the transactions of a filter."""

from datetime import datetime

from django.conf import settings

from cases.models import Case
from evidence.models import ExportRecord
from evidence.services.records import export_request
from evidence.services.trails import audit_events_in, transactions_matching
from kernel.errors import Conflict

Kind = ExportRecord.Kind


def case_export(*, case: Case, sar: bool, actor) -> ExportRecord:
    """The case bundle, built at once (a case holds at most thousands of rows); with `sar`, its SAR package."""
    if sar and not (case.outcome == Case.Outcome.SAR_FILED and hasattr(case, "sar_draft")):
        raise Conflict("Only a case closed as SAR filed, with its SAR, has a SAR package.", code="not_sar_filed")
    return export_request(
        kind=Kind.SAR if sar else Kind.CASE,
        subject=case.reference,
        parameters={"case_id": case.pk, "reference": case.reference},
        actor=actor,
        total_items=case.links.count(),
        inline=True,
    )


def audit_export(*, since: datetime, until: datetime, actor) -> ExportRecord:
    """The audit trail between two times; more than EXPORT_INLINE_MAX_ROWS events run as a job."""
    total = audit_events_in(since=since, until=until).count()
    return export_request(
        kind=Kind.AUDIT,
        subject=f"{since.isoformat()} to {until.isoformat()}",
        parameters={"from": since.isoformat(), "to": until.isoformat()},
        actor=actor,
        total_items=total,
        inline=total <= settings.EXPORT_INLINE_MAX_ROWS,
    )


def transactions_export(
    *, account_id: str, since: datetime | None, until: datetime | None, flagged: bool | None, actor
) -> ExportRecord:
    """The transactions of a filter with their decisions; more than EXPORT_INLINE_MAX_ROWS run as a job."""
    parameters = {
        "account_id": account_id,
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
        "flagged": flagged,
    }
    total = transactions_matching(account_id=account_id, since=since, until=until, flagged=flagged).count()
    described = ", ".join(f"{k}={v}" for k, v in parameters.items() if v not in (None, ""))
    return export_request(
        kind=Kind.TRANSACTIONS,
        subject=described or "all transactions",
        parameters=parameters,
        actor=actor,
        total_items=total,
        inline=total <= settings.EXPORT_INLINE_MAX_ROWS,
    )
