"""Cases opened by hand: from a tip, a customer call, a law-enforcement request, with the account's
transactions an analyst found through the transaction search."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_log
from cases.models import PRIORITY_FOR_SEVERITY, Case, CaseEvent, CaseTransaction, RoutingRule, Severity, Team
from cases.selectors import transactions_visible_to
from cases.services.assignment import case_auto_assign
from cases.services.lifecycle import require_perm
from cases.services.live import notify_case_changed
from cases.services.opening import case_references_allocate, route_team_id, sla_due_at
from kernel.errors import Conflict
from kernel.events import publish
from scoring.models import Transaction

MAX_MANUAL_TRANSACTIONS = 500
MANUAL_ORIGINS = [value for value in Case.Origin.values if value != Case.Origin.FLAGGED]


def check_manual_case(
    *, actor, account_id: str, description: str, severity: str, origin: str, team: Team | None, transaction_ids
) -> list[Transaction]:
    """The rules of opening a case by hand; returns the transactions to link (each one the actor may see,
    on that account)."""
    require_perm(actor, "cases.work_case")
    errors = {}
    if not account_id.strip() or len(account_id) > 128:
        errors["account_id"] = "Name the account (at most 128 characters)."
    if not description.strip():
        errors["description"] = "Say why the case is opened: the tip, the call, the request."
    if severity not in Severity.values:
        errors["severity"] = f"Severity is one of {Severity.values}."
    if origin not in MANUAL_ORIGINS:
        errors["origin"] = f"Origin is one of {MANUAL_ORIGINS}."
    if len(transaction_ids) > MAX_MANUAL_TRANSACTIONS:
        errors["transaction_ids"] = f"At most {MAX_MANUAL_TRANSACTIONS} transactions at once."
    if team is not None and not (actor.has_perm("cases.view_all_cases") or team.members.filter(pk=actor.pk).exists()):
        errors["team"] = "You may open cases only for your own teams."
    if errors:
        raise ValidationError(errors, code="invalid")
    wanted = set(transaction_ids)
    found = list(transactions_visible_to(actor, Transaction.objects.filter(pk__in=wanted, account_id=account_id)))
    missing = sorted(wanted - {t.pk for t in found})
    if missing:
        raise ValidationError(
            {"transaction_ids": f"Not transactions of account {account_id} that you may see: {missing}."},
            code="invalid",
        )
    return found


def case_open_manual(
    *,
    actor,
    account_id: str,
    description: str,
    severity: str,
    origin: str,
    title: str = "",
    team: Team | None = None,
    transaction_ids: Sequence[int] = (),
    assign_to_self: bool = True,
) -> Case:
    """Open a case by hand. The team is the one named, else the routing rules', else the opener's only
    team; the opener works it unless `assign_to_self` is False (then the team's auto-assignment, if any).
    One open case per account: an account with an open case is a Conflict naming it."""
    account_id = account_id.strip()
    found = check_manual_case(
        actor=actor,
        account_id=account_id,
        description=description,
        severity=severity,
        origin=origin,
        team=team,
        transaction_ids=list(transaction_ids),
    )
    existing = Case.objects.open().filter(account_id=account_id).values_list("reference", flat=True).first()
    if existing:
        raise _already_open(account_id, existing)
    if team is None:
        rules = list(RoutingRule.objects.filter(is_active=True))
        team_id = route_team_id(rules, account_id=account_id, severity=severity, decisions=[])
        team = Team.objects.filter(pk=team_id).first() if team_id else None
    if team is None:
        own = list(Team.objects.filter(members=actor)[:2])
        team = own[0] if len(own) == 1 else None
    now = timezone.now()
    title = (title.strip() or f"Opened by hand ({Case.Origin(origin).label.lower()}) on account {account_id}")[:200]
    try:
        with transaction.atomic():
            (reference,) = case_references_allocate(count=1, year=now.year)
            case = Case(
                reference=reference,
                title=title,
                description=description.strip(),
                origin=origin,
                account_id=account_id,
                severity=severity,
                peak_severity=severity,
                priority=PRIORITY_FOR_SEVERITY[severity],
                team=team,
                assignee=actor if assign_to_self else None,
                sla_due_at=sla_due_at(severity, start=now),
                opened_at=now,
            )
            case._change_reason = f"opened by hand ({origin})"
            case._history_user = actor
            case.save()
            CaseTransaction.objects.bulk_create(
                [CaseTransaction(case=case, transaction=t, added_at=now) for t in found]
            )
            data = {
                "origin": origin,
                "manual": True,
                "transaction_ids": sorted(t.pk for t in found),
                "team": team.slug if team else None,
            }
            CaseEvent.objects.create(
                case=case, kind=CaseEvent.Kind.OPENED, actor=f"user:{actor.get_username()}", data=data, created_at=now
            )
            audit_log(
                actor=actor,
                action="case.opened",
                object_type="case",
                object_id=reference,
                payload={"account_id": account_id, "severity": severity, "description": case.description, **data},
            )
            publish("case.opened", {"reference": reference, "severity": severity, "origin": origin})
            notify_case_changed(
                case_id=case.pk, reference=reference, team_id=case.team_id, user_ids=[case.assignee_id], kind="opened"
            )
            if not assign_to_self:
                case_auto_assign(case=case)
    except IntegrityError:  # another person opened one for the account at the same moment
        existing = Case.objects.open().filter(account_id=account_id).values_list("reference", flat=True).first()
        raise _already_open(account_id, existing or "") from None
    case.refresh_from_db()
    return case


def _already_open(account_id: str, reference: str) -> Conflict:
    return Conflict(
        f"Account {account_id} already has an open case, {reference}: add to it instead.",
        code="case_open_for_account",
        details={"reference": reference},
    )
