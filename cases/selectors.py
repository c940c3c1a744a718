"""Reads for the workspace pages and the API; each makes a constant number of queries."""

from __future__ import annotations

from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from cases.filtersets import CaseFilterSet, TransactionFilterSet
from cases.models import Approval, Attachment, Availability, Case, CaseEvent, CaseTransaction, Comment, Team
from scoring.models import ModelVersion, Transaction

ACTIVITY_WINDOW = timedelta(hours=72)
ACTIVITY_LIMIT = 300
CASE_TRANSACTIONS_LIMIT = 100
TIMELINE_LIMIT = 300


def cases_for_api_key(key):
    """An integrator's key sees the cases holding its own source's transactions."""
    own = CaseTransaction.objects.filter(case=OuterRef("pk"), transaction__source=key.source)
    return Case.objects.filter(Exists(own))


def api_key_worklist(key, params, *, limit: int) -> tuple[list[Case], int]:
    """The first `limit` cases of an API key's source matching the worklist's filters (`params`, as the
    worklist's query string has them) and how many match; raises ValueError naming the invalid filters."""
    filterset = CaseFilterSet(params, queryset=cases_for_api_key(key))
    if not filterset.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())
        raise ValueError(f"Invalid filters: {problems}")
    queryset = filterset.qs.select_related("assignee", "team")
    cases = list(queryset[:limit])
    attach_transaction_counts(cases)
    total = len(cases) if len(cases) < limit else queryset.order_by().count()
    return cases, total


def transactions_visible_to(user, queryset):
    """The rule scoring.visibility asks: transactions in a case `user` may see, or in no case when they may
    follow the live decisions; all of them for people who see every case."""
    if user.has_perm("cases.view_all_cases"):
        return queryset
    in_visible_case = Exists(
        CaseTransaction.objects.filter(transaction=OuterRef("pk"), case__in=Case.objects.visible_to(user))
    )
    scope = Q(in_visible_case)
    if user.has_perm("scoring.view_live_decisions"):
        scope |= ~Exists(CaseTransaction.objects.filter(transaction=OuterRef("pk")))
    return queryset.filter(scope)


def case_for(user, reference: str, *, queryset=None) -> Case | None:
    """The case `user` may see with this reference, or None: another team's reference is not found."""
    queryset = Case.objects.visible_to(user) if queryset is None else queryset
    return queryset.select_related("assignee", "team").filter(reference=reference).first()


@dataclass
class Worklist:
    filterset: CaseFilterSet
    page: Page
    status_counts: list[tuple[str, str, int]]  # (status, label, count)
    teams: list[Team]


def worklist(user, params, *, request=None, page_number=1, page_size: int | None = None) -> Worklist:
    """One page of the cases `user` may see, filtered; counts per status for the same filters."""
    visible = Case.objects.visible_to(user)
    filterset = CaseFilterSet(params, queryset=visible, request=request)
    queryset = visible.none() if not filterset.is_valid() else filterset.qs
    status_counts = {}
    if filterset.is_valid():
        # The same filters without the status/state ones, on the same (already validated) form.
        cleaned = filterset.form.cleaned_data
        filterset.form.cleaned_data = {**cleaned, "status": [], "state": "all", "ordering": None}
        try:
            scope = filterset.filter_queryset(visible).order_by()
        finally:
            filterset.form.cleaned_data = cleaned
        status_counts = dict(scope.values_list("status").annotate(n=Count("*")))
    paginator = Paginator(queryset.select_related("assignee", "team"), page_size or settings.CASES_PAGE_SIZE)
    if filterset.is_valid():
        # The page's total is the per-status counts (same filters) summed over the statuses shown,
        # which saves the paginator its own COUNT over the whole scope.
        shown = _statuses_shown(filterset.form.cleaned_data)
        paginator.count = sum(n for status, n in status_counts.items() if status in shown)
    page = paginator.get_page(page_number)
    attach_transaction_counts(page.object_list)
    return Worklist(
        filterset=filterset,
        page=page,
        status_counts=[(value, label, status_counts.get(value, 0)) for value, label in Case.Status.choices],
        teams=list(Team.objects.all()),
    )


def attach_transaction_counts(cases) -> None:
    """Set `transaction_count` on each case of a page, in one query."""
    cases = list(cases)
    counts = dict(
        CaseTransaction.objects.filter(case_id__in=[case.pk for case in cases])
        .values_list("case_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for case in cases:
        case.transaction_count = counts.get(case.pk, 0)


def _statuses_shown(cleaned: dict) -> set[str]:
    if cleaned.get("status"):
        return set(cleaned["status"])
    state = cleaned.get("state")
    if state == "all":
        return set(Case.Status.values)
    if state == "closed":
        return {Case.Status.CLOSED}
    return set(Case.Status.values) - {Case.Status.CLOSED}


def case_transactions(case: Case) -> list[CaseTransaction]:
    """The case's transactions, newest first, each with its decision and model version (one query)."""
    return list(
        CaseTransaction.objects.filter(case=case)
        .select_related("transaction", "transaction__decision", "transaction__decision__model_version")
        .defer(*ModelVersion.heavy_fields("transaction__decision__model_version"))
        .order_by("-transaction__occurred_at", "-id")[:CASE_TRANSACTIONS_LIMIT]
    )


def account_activity(case: Case, links: list[CaseTransaction]) -> list[Transaction]:
    """The account's transactions in the 72 h up to its latest case transaction, with their decisions."""
    if not links:
        return []
    anchor = max(link.transaction.occurred_at for link in links)
    return list(
        Transaction.objects.filter(
            account_id=case.account_id, occurred_at__gt=anchor - ACTIVITY_WINDOW, occurred_at__lte=anchor
        )
        .select_related("decision")
        .order_by("-occurred_at")[:ACTIVITY_LIMIT]
    )


@dataclass
class TimelineEntry:
    event: CaseEvent
    comment: Comment | None


def timeline(case: Case) -> list[TimelineEntry]:
    """Timeline events with their comments (two queries), oldest first."""
    events = list(CaseEvent.objects.filter(case=case).order_by("-created_at", "-id")[:TIMELINE_LIMIT])
    events.reverse()
    comment_ids = [e.data.get("comment_id") for e in events if e.kind == CaseEvent.Kind.COMMENTED]
    comments = {
        c.pk: c
        for c in Comment.objects.filter(pk__in=[i for i in comment_ids if i])
        .select_related("author")
        .prefetch_related("mentioned")
    }
    return [TimelineEntry(event=e, comment=comments.get(e.data.get("comment_id"))) for e in events]


def pending_approval(case: Case) -> Approval | None:
    return (
        Approval.objects.filter(case=case, status=Approval.Status.PENDING).select_related("requested_by").first()
        if case.status == Case.Status.PENDING_APPROVAL
        else None
    )


def attachments_of(case: Case) -> list[Attachment]:
    """The case's attachments, oldest first, with who uploaded them (one query)."""
    return list(
        Attachment.objects.filter(case=case).select_related("uploaded_by", "comment").order_by("uploaded_at", "id")
    )


def attachment_of(case: Case, attachment_id) -> Attachment | None:
    """One attachment of a case the caller may see, or None (another case's attachment is not found)."""
    try:
        return Attachment.objects.select_related("case").filter(case=case, pk=int(attachment_id)).first()
    except (TypeError, ValueError):
        return None


@dataclass
class TransactionPage:
    filterset: TransactionFilterSet
    rows: list[Transaction]
    next_cursor: str | None
    case_of: dict[int, str]  # transaction id -> reference of a case (visible to the user) holding it


def transaction_search(
    user, params, *, cursor: str | None = None, limit: int | None = None, queryset=None
) -> TransactionPage:
    """One page of the transactions `user` may see (or of `queryset`, an API key's source), newest first,
    for one account (TransactionFilterSet), after `cursor` (keyset on occurred_at and id: a page costs the
    same at any depth). Raises ValueError for a cursor that is not one of ours."""
    limit = limit or settings.TRANSACTION_SEARCH_PAGE_SIZE
    if queryset is None:
        queryset = transactions_visible_to(user, Transaction.objects.all())
    filterset = TransactionFilterSet(params, queryset=queryset.select_related("decision"))
    if not filterset.is_valid():
        return TransactionPage(filterset, [], None, {})
    queryset = filterset.qs.order_by("-occurred_at", "-id")
    if cursor:
        occurred_at, pk = cursor_decode(cursor)
        queryset = queryset.filter(Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, pk__lt=pk))
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    links = CaseTransaction.objects.filter(
        transaction_id__in=[t.pk for t in rows], case__in=Case.objects.visible_to(user)
    ).values_list("transaction_id", "case__reference")
    case_of = dict(links)
    for row in rows:
        row.case_reference = case_of.get(row.pk)
    return TransactionPage(filterset, rows, cursor_encode(rows[-1]) if more else None, case_of)


def cursor_encode(row: Transaction) -> str:
    return urlsafe_b64encode(f"{row.occurred_at.isoformat()}|{row.pk}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str):
    try:
        text = urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        occurred_at, pk = text.rsplit("|", 1)
        return datetime.fromisoformat(occurred_at), int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("Not a valid cursor.") from exc


def availability_overview(user) -> dict:
    """The person's own availability, and their teams' members' (who takes cases now)."""
    now = timezone.now()
    own = Availability.objects.filter(user=user).first()
    teams = list(Team.objects.filter(members=user).prefetch_related("members").select_related("lead"))
    people = {person.pk: person for team in teams for person in team.members.all()}
    rows = {row.user_id: row for row in Availability.objects.filter(user_id__in=list(people))}
    return {
        "own": own,
        "takes_cases": own.takes_cases(now) if own else True,
        "teams": [
            {
                "team": team,
                "members": [
                    (person, rows[person.pk].takes_cases(now) if person.pk in rows else True, rows.get(person.pk))
                    for person in sorted(team.members.all(), key=lambda p: p.get_username())
                ],
            }
            for team in teams
        ],
    }


# --- investigations and the agent's proposals ---------------------------------------------------------


def investigations_visible_to(user):
    """Investigations of the cases `user` may see."""
    from cases.models import Investigation

    return Investigation.objects.filter(case__in=Case.objects.visible_to(user))


def investigation_detail(user, investigation_id, *, cases=None) -> tuple:
    """(the investigation `user` may see (or of one of `cases`, an API key's), its proposals) or (None, []):
    another team's is not found."""
    from cases.models import AgentAction, Investigation

    scope = investigations_visible_to(user) if cases is None else Investigation.objects.filter(case__in=cases)
    investigation = scope.select_related("case", "requested_by", "api_key").filter(pk=investigation_id).first()
    if investigation is None:
        return None, []
    actions = list(AgentAction.objects.filter(investigation=investigation).select_related("decided_by").order_by("pk"))
    return investigation, actions


def latest_investigation(case: Case):
    """The case's latest investigation with its proposals, for the case page's panel (two queries)."""
    from cases.models import AgentAction, Investigation

    investigation = Investigation.objects.filter(case=case).select_related("requested_by", "api_key").first()
    if investigation is None:
        return None, []
    actions = list(AgentAction.objects.filter(investigation=investigation).select_related("decided_by").order_by("pk"))
    return investigation, actions


def agent_actions_visible_to(user):
    """The agent's proposals on cases `user` may see."""
    from cases.models import AgentAction

    return AgentAction.objects.filter(case__in=Case.objects.visible_to(user))


RECOMMENDATION_AGES = {"24h": timedelta(hours=24), "72h": timedelta(hours=72), "7d": timedelta(days=7)}
RECOMMENDATIONS_LIMIT = 200


def proposals_to_decide(user):
    """Open proposals on cases `user` sees, of the kinds they may accept (none without decide_agent_action)."""
    from cases.investigations.policy import ACTION_PERMISSION
    from cases.models import AgentAction

    if not user.has_perm("cases.decide_agent_action"):
        return AgentAction.objects.none()
    kinds = [kind for kind, perm in ACTION_PERMISSION.items() if user.has_perm(perm)]
    return agent_actions_visible_to(user).filter(status=AgentAction.Status.PENDING, action_kind__in=kinds)


def recommendation_queue(user, params) -> dict:
    """The /recommendations/ page: open proposals the user may decide, filtered by kind, severity and age
    (older than), with counts per kind for the same filters but the kind."""
    from django.utils import timezone

    from cases.models import AgentAction, Severity

    kind, severity, age = params.get("kind", ""), params.get("severity", ""), params.get("age", "")
    scope = proposals_to_decide(user)
    if severity in Severity.values:
        scope = scope.filter(case__severity=severity)
    if age in RECOMMENDATION_AGES:
        scope = scope.filter(requested_at__lte=timezone.now() - RECOMMENDATION_AGES[age])
    counts = dict(scope.order_by().values_list("action_kind").annotate(n=Count("id")))
    if kind in AgentAction.Kind.values:
        scope = scope.filter(action_kind=kind)
    rows = list(
        scope.select_related("case", "case__team", "investigation").order_by("requested_at")[:RECOMMENDATIONS_LIMIT]
    )
    return {
        "proposals": rows,
        "counts": [(value, label, counts.get(value, 0)) for value, label in AgentAction.Kind.choices],
        "total": sum(counts.values()),
        "kinds": AgentAction.Kind.choices,
        "severities": Severity.choices,
        "ages": [("", "Any age"), ("24h", "Older than 24 h"), ("72h", "Older than 72 h"), ("7d", "Older than 7 days")],
        "chosen": {"kind": kind, "severity": severity, "age": age},
    }
