"""Automatic case opening: flagged decisions open a case per account, or join its open case."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from audit.services import AuditEntry, actor_label, audit_log_many
from cases.models import (
    PRIORITY_FOR_SEVERITY,
    SEVERITY_ORDER,
    Case,
    CaseCounter,
    CaseEvent,
    CaseTransaction,
    RoutingRule,
    Severity,
    Team,
)
from cases.services.live import notify_cases_changed
from cases.services.suppression import Suppressed, suppress_duplicates
from kernel.bulk import bulk_insert
from kernel.events import publish_many
from organisations.models import organisation_setting
from scoring.models import RISK_ORDER, Decision, RiskLevel

logger = logging.getLogger(__name__)

SEVERITY_FOR_RISK = {
    RiskLevel.LOW: Severity.LOW,
    RiskLevel.MEDIUM: Severity.MEDIUM,
    RiskLevel.HIGH: Severity.HIGH,
    RiskLevel.CRITICAL: Severity.CRITICAL,
}


# A rule that asks to flag is a deterministic finding (sanctions, structuring...): at least HIGH.
RULE_FLAG_MIN_SEVERITY = Severity.HIGH


def decision_severity(decision: Decision) -> str:
    """Severity a decision calls for: its risk level, raised by rule hits (their risk level, or "flag")."""
    severity = SEVERITY_FOR_RISK[decision.risk_level]
    for hit in decision.rule_hits or ():
        candidates = [SEVERITY_FOR_RISK.get(hit.get("risk_level"), Severity.LOW)]
        if hit.get("action") == "flag":
            candidates.append(RULE_FLAG_MIN_SEVERITY)
        for candidate in candidates:
            if SEVERITY_ORDER[candidate] > SEVERITY_ORDER[severity]:
                severity = candidate
    return severity


def route_team_id(rules: Sequence[RoutingRule], *, account_id: str, severity: str, decisions: Sequence[Decision]):
    """The team of the first matching routing rule, or None (the unrouted queue compliance sees)."""
    sources = {d.transaction.source for d in decisions}
    codes = {hit.get("rule") for d in decisions for hit in (d.rule_hits or ())}
    for rule in rules:
        if rule.matches(account_id=account_id, severity=severity, sources=sources, rule_codes=codes):
            return rule.team_id
    return None


def sla_due_at(severity: str, *, start: datetime) -> datetime:
    return start + timedelta(hours={**settings.CASE_SLA_HOURS, **organisation_setting("CASE_SLA_HOURS")}[severity])


def case_references_allocate(*, count: int, year: int) -> list[str]:
    """Reserve `count` consecutive references for `year`; the UPDATE holds the counter's row lock."""
    CaseCounter.objects.get_or_create(year=year)
    CaseCounter.objects.filter(year=year).update(last=F("last") + count)
    last = CaseCounter.objects.values_list("last", flat=True).get(year=year)
    return [f"CASE-{year}-{number:06d}" for number in range(last - count + 1, last + 1)]


def open_cases_for_decisions(*, decisions: Sequence[Decision], actor, suppress: bool = True) -> dict[int, str]:
    """One open case per account: flagged decisions open one, or join the account's open case; with
    `suppress`, an account whose case was recently closed as a false positive is held for review instead
    (cases.services.suppression).

    Runs inside the ingest transaction; a constant number of queries whatever the batch size. Writes the
    cases, their timeline, audit and outbox events; returns transaction id -> case reference for the
    flagged decisions.
    """
    by_account: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions:
        if decision.flagged:
            by_account[decision.transaction.account_id].append(decision)
    if not by_account:
        return {}

    now = timezone.now()
    label = actor_label(actor)
    open_cases = {case.account_id: case for case in Case.objects.open().filter(account_id__in=list(by_account))}
    new_accounts = [account for account in by_account if account not in open_cases]
    suppressed = Suppressed()
    if suppress and new_accounts:
        severities = {account: _worst_severity(by_account[account]) for account in new_accounts}
        suppressed = suppress_duplicates(by_account=by_account, severities=severities, now=now, actor=actor)
        new_accounts = [account for account in new_accounts if account not in suppressed.accounts]
    references = case_references_allocate(count=len(new_accounts), year=now.year) if new_accounts else []

    rules = list(RoutingRule.objects.filter(is_active=True).select_related("team")) if new_accounts else []
    auto_teams = {rule.team_id for rule in rules if rule.team.assignment != Team.Assignment.MANUAL}
    new_cases = []
    for account, reference in zip(new_accounts, references, strict=True):
        severity = _worst_severity(by_account[account])
        count = len(by_account[account])
        new_cases.append(
            Case(
                reference=reference,
                title=f"{count} flagged transaction{'s' if count > 1 else ''} on account {account}",
                account_id=account,
                severity=severity,
                peak_severity=severity,
                priority=PRIORITY_FOR_SEVERITY[severity],
                team_id=route_team_id(rules, account_id=account, severity=severity, decisions=by_account[account]),
                sla_due_at=sla_due_at(severity, start=now),
                opened_at=now,
            )
        )
    if new_cases:
        new_cases = bulk_create_with_history(new_cases, Case, default_change_reason="opened from flagged decisions")

    raised = []
    events, audit_entries, outbox_events = suppressed.events, suppressed.audit_entries, suppressed.outbox_events
    hints = []
    for case in new_cases:
        data = _event_data(by_account[case.account_id])
        events.append(CaseEvent(case=case, kind=CaseEvent.Kind.OPENED, actor=label, data=data, created_at=now))
        audit_entries.append(_audit(actor, "case.opened", case, data))
        outbox_events.append(("case.opened", {"reference": case.reference, "severity": case.severity}))
        hints.append(_hint(case, "opened"))
    for account, case in open_cases.items():
        data = _event_data(by_account[account])
        severity = _worst_severity(by_account[account])
        events.append(
            CaseEvent(case=case, kind=CaseEvent.Kind.TRANSACTIONS_ADDED, actor=label, data=data, created_at=now)
        )
        audit_entries.append(_audit(actor, "case.transactions_added", case, data))
        if SEVERITY_ORDER[severity] > SEVERITY_ORDER[case.severity]:
            events.append(
                CaseEvent(
                    case=case,
                    kind=CaseEvent.Kind.SEVERITY_RAISED,
                    actor=label,
                    data={"from": case.severity, "to": severity},
                    created_at=now,
                )
            )
            case.note_severity(severity)
            case.priority = min(case.priority, PRIORITY_FOR_SEVERITY[severity])
            case.sla_due_at = min(case.sla_due_at, sla_due_at(severity, start=now))
            case.version += 1
            raised.append(case)
        hints.append(_hint(case, "transactions_added"))
    if raised:
        bulk_update_with_history(
            raised,
            Case,
            ["severity", "peak_severity", "priority", "sla_due_at", "version"],
            default_change_reason="severity raised",
        )

    links, case_references = [], {}
    for case in [*new_cases, *open_cases.values()]:
        for decision in by_account[case.account_id]:
            links.append(CaseTransaction(case=case, transaction_id=decision.transaction_id, added_at=now))
            case_references[decision.transaction_id] = case.reference
    # COPY for a big batch's hundreds of rows: bulk_create quotes every value client-side (sampled: a fair
    # part of the ~0.1 s this receiver spent in bulk_create per 10,000-item batch).
    bulk_insert(CaseTransaction, links)
    bulk_insert(CaseEvent, events)
    audit_log_many(audit_entries)
    publish_many(outbox_events)
    notify_cases_changed(hints)
    to_assign = [case.pk for case in new_cases if case.team_id in auto_teams]
    if to_assign:
        transaction.on_commit(lambda: auto_assign_later(to_assign))
    return case_references


def auto_assign_later(case_ids: list[int]) -> None:
    """After commit, a worker assigns the new cases of teams that assign automatically; if the broker is
    down, the SLA sweep assigns them on its next pass."""
    from cases.tasks import cases_auto_assign_task

    try:
        cases_auto_assign_task.delay(case_ids)
    except Exception:
        logger.warning("cases: could not queue auto-assignment of %d cases", len(case_ids), exc_info=True)


def _hint(case: Case, kind: str) -> dict:
    return {
        "case_id": case.pk,
        "reference": case.reference,
        "team_id": case.team_id,
        "user_ids": [case.assignee_id],
        "kind": kind,
    }


def _worst_severity(decisions: list[Decision]) -> str:
    return max((decision_severity(d) for d in decisions), key=lambda severity: SEVERITY_ORDER[severity])


def _worst_risk(decisions: list[Decision]) -> str:
    return max((d.risk_level for d in decisions), key=lambda level: RISK_ORDER[level])


def _event_data(decisions: list[Decision]) -> dict:
    return {"transaction_ids": [d.transaction_id for d in decisions], "max_risk_level": _worst_risk(decisions)}


def _audit(actor, action: str, case: Case, data: dict) -> AuditEntry:
    return AuditEntry(
        actor=actor,
        action=action,
        object_type="case",
        object_id=case.reference,
        payload={"account_id": case.account_id, "severity": case.severity, **data},
    )
