"""Duplicate suppression: the rule, and holding back flagged transactions while the case opening runs.

When a flagged transaction arrives for an account with no open case whose last case was closed as a false
positive within the rule's window, it does not open a new case: it becomes a SuppressedAlert that an
analyst reviews (cases.services.suppressed_alerts). Transactions more severe than the rule's
`max_severity` always open a case.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings

from audit.services import AuditEntry, actor_label
from cases.models import SEVERITY_ORDER, Case, CaseEvent, Severity, SuppressedAlert, SuppressionRule
from scoring.models import Decision


@dataclass
class Suppressed:
    """What the opening receiver writes with its own rows: accounts held back and their evidence."""

    accounts: set[str] = field(default_factory=set)
    events: list[CaseEvent] = field(default_factory=list)
    audit_entries: list[AuditEntry] = field(default_factory=list)
    outbox_events: list[tuple[str, dict]] = field(default_factory=list)


def suppression_rule() -> SuppressionRule:
    """The organisation's rule, or an unsaved one from CASES_SUPPRESSION_DAYS when admin has not set one."""
    rule = SuppressionRule.objects.first()
    if rule is not None:
        return rule
    days = settings.CASES_SUPPRESSION_DAYS
    return SuppressionRule(is_active=days > 0, window_days=max(days, 0), max_severity=Severity.HIGH)


def suppress_duplicates(*, by_account: dict[str, list[Decision]], severities: dict[str, str], now, actor) -> Suppressed:
    """Hold back the accounts of `severities` (flagged, with no open case) that the rule covers; two queries."""
    result = Suppressed()
    rule = suppression_rule()
    if not (rule.is_active and rule.window_days > 0):
        return result
    limit = SEVERITY_ORDER[rule.max_severity]
    eligible = [account for account, severity in severities.items() if SEVERITY_ORDER[severity] <= limit]
    if not eligible:
        return result
    previous: dict[str, Case] = {}
    recent = Case.objects.filter(
        account_id__in=eligible,
        status=Case.Status.CLOSED,
        outcome=Case.Outcome.FALSE_POSITIVE,
        closed_at__gte=now - timedelta(days=rule.window_days),
    ).order_by("account_id", "-closed_at")
    for case in recent.only("id", "reference", "account_id", "closed_at", "organisation_id"):
        previous.setdefault(case.account_id, case)
    if not previous:
        return result
    label = actor_label(actor)
    alerts = []
    for account, case in previous.items():
        decisions = by_account[account]
        alerts += [
            SuppressedAlert(
                transaction_id=d.transaction_id,
                account_id=account,
                previous_case=case,
                severity=severities[account],
                created_at=now,
            )
            for d in decisions
        ]
        data = {
            "transaction_ids": [d.transaction_id for d in decisions],
            "severity": severities[account],
            "window_days": rule.window_days,
        }
        result.events.append(
            CaseEvent(case=case, kind=CaseEvent.Kind.DUPLICATE_SUPPRESSED, actor=label, data=data, created_at=now)
        )
        result.audit_entries.append(
            AuditEntry(
                actor=actor,
                action="case.duplicate_suppressed",
                object_type="case",
                object_id=case.reference,
                payload={"account_id": account, **data},
            )
        )
        result.outbox_events.append(("case.duplicate_suppressed", {"reference": case.reference, **data}))
        result.accounts.add(account)
    SuppressedAlert.objects.bulk_create(alerts)
    return result
