"""Tools over cases: the worklist and one case with its evidence."""

from datetime import date
from typing import Annotated, Literal

from django.http import QueryDict
from pydantic import Field

from cases import selectors
from cases.models import Case, Severity
from cases.similarity import similar_cases
from finobs.mcp.registry import ToolRefused, tools
from finobs.mcp.schemas import CaseDetail, CaseList, CaseSummary, CaseTransactionOut, SimilarCaseOut, TimelineEvent

CaseStatus = Literal[tuple(Case.Status.values)]
CaseSeverity = Literal[tuple(Severity.values)]
CaseOutcome = Literal[tuple(Case.Outcome.values)]
Ordering = Literal["sla", "-sla", "opened", "-opened", "updated", "-updated", "priority", "-priority", "severity",
                   "-severity", "reference", "-reference"]  # fmt: skip


@tools.tool(scope="read", title="List cases")
def list_cases(
    key,
    state: Annotated[Literal["open", "closed", "all"], Field(description="Open cases unless asked.")] = "open",
    status: Annotated[list[CaseStatus], Field(description="Only cases in these statuses.")] = (),
    severity: Annotated[list[CaseSeverity], Field(description="Only cases of these severities.")] = (),
    outcome: Annotated[list[CaseOutcome], Field(description="Only closed cases with these outcomes.")] = (),
    queue: Annotated[
        Literal["unassigned", "breaching"] | None,
        Field(description="unassigned: nobody's yet; breaching: open and past or near their SLA."),
    ] = None,
    assignee: Annotated[str | None, Field(description='An analyst\'s username, or "none".')] = None,
    team: Annotated[str | None, Field(description="A team's slug.")] = None,
    opened_after: Annotated[date | None, Field(description="Opened on or after this day.")] = None,
    opened_before: Annotated[date | None, Field(description="Opened on or before this day.")] = None,
    q: Annotated[str | None, Field(description="A case reference, or the start of an account id.")] = None,
    ordering: Annotated[Ordering | None, Field(description="Sort key; - for descending. Newest first.")] = None,
    limit: Annotated[int, Field(ge=1, le=200, description="How many cases to return.")] = 50,
) -> CaseList:
    """The cases analysts work, filtered as on the finobs worklist: state, status, severity, outcome, queue,
    assignee, team, the day opened, a reference or account prefix; with how many match.

    You see the cases holding transactions of your API key's source. Use get_case for one case's evidence."""
    params = {
        "state": "" if state == "open" else state,
        "status": list(status),
        "severity": list(severity),
        "outcome": list(outcome),
        "queue": queue or "",
        "assignee": assignee or "",
        "team": team or "",
        "opened_after": opened_after.isoformat() if opened_after else "",
        "opened_before": opened_before.isoformat() if opened_before else "",
        "q": q or "",
        "ordering": ordering or "",
    }
    query = _query_dict(params)
    cases, total = selectors.api_key_worklist(key, query, limit=limit)
    return CaseList(total=total, cases=[_summary(case) for case in cases])


@tools.tool(scope="read", title="Get a case with its evidence")
def get_case(
    key, reference: Annotated[str, Field(description="The case's reference, e.g. CASE-2026-000042.")]
) -> CaseDetail:
    """One case with its evidence: the case, its transactions with the decision on each (score, risk level, rule
    hits), the timeline (status changes, assignments, comments, approvals) and the most similar closed cases
    with their outcomes.

    Use explain_transaction on a transaction_id for why it scored as it did."""
    case = source_case(key, reference)
    links = selectors.case_transactions(case)
    own = [link for link in links if link.transaction.source == key.source]
    selectors.attach_transaction_counts([case])
    decisions = [getattr(link.transaction, "decision", None) for link in own]
    similar = similar_cases(
        case,
        None,
        vectors=[d.features for d in decisions if d and d.features],
        visible=selectors.cases_for_api_key(key),
    )
    return CaseDetail(
        case=_summary(case),
        rationale=case.rationale,
        transactions=[_transaction(link.transaction) for link in own],
        other_sources_transactions=len(links) - len(own),
        timeline=[
            TimelineEvent(
                at=entry.event.created_at,
                kind=entry.event.kind,
                actor=entry.event.actor,
                data=entry.event.data,
                comment=entry.comment.body if entry.comment else None,
            )
            for entry in selectors.timeline(case)
        ],
        similar_cases=[
            SimilarCaseOut(
                reference=s.case.reference,
                title=s.case.title,
                outcome=s.case.outcome,
                severity=s.case.severity,
                similarity=s.similarity,
            )
            for s in similar
        ],
    )


def source_case(key, reference: str) -> Case:
    """The case of the key's source with this reference (any case); ToolRefused when there is none."""
    case = selectors.case_for(None, reference.strip().upper(), queryset=selectors.cases_for_api_key(key))
    if case is None:
        raise ToolRefused(f"No case of your source has the reference {reference!r}.")
    return case


def _query_dict(params: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in params.items():
        if isinstance(value, list):
            query.setlist(name, value)
        elif value:
            query[name] = value
    return query


def _summary(case: Case) -> CaseSummary:
    return CaseSummary(
        reference=case.reference,
        title=case.title,
        account_id=case.account_id,
        status=case.status,
        severity=case.severity,
        priority=case.priority,
        team=case.team.slug if case.team_id else None,
        assignee=case.assignee.username if case.assignee_id else None,
        opened_at=case.opened_at,
        sla_due_at=case.sla_due_at,
        closed_at=case.closed_at,
        outcome=case.outcome,
        transaction_count=getattr(case, "transaction_count", 0),
    )


def _transaction(txn) -> CaseTransactionOut:
    decision = getattr(txn, "decision", None)
    return CaseTransactionOut.of(
        txn,
        merchant_id=txn.merchant_id,
        country=txn.country,
        channel=txn.channel,
        score=decision.score if decision else None,
        risk_level=decision.risk_level if decision else None,
        flagged=decision.flagged if decision else None,
        model_version=decision.model_version.version if decision else None,
        rule_hits=decision.rule_hits if decision else [],
    )
