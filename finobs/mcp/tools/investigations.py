"""Tools over investigations: ask the evidence-first agent to investigate a case of the key's source, and read
what it found. The run reads as the organisation's agent identity narrowed to the key's source; what it
proposes waits for a person (four-eyes), as every proposal of the agent does."""

from typing import Annotated

from pydantic import Field

from cases import selectors
from cases.models import Investigation
from cases.services.investigations import investigation_request, requester_label
from cases.services.proposals import describe
from finobs.mcp.registry import ToolRefused, tools
from finobs.mcp.schemas import (
    EvidenceOut,
    FindingOut,
    InvestigationOut,
    InvestigationQueued,
    ProposalOut,
    RecommendationOut,
)
from finobs.mcp.tools.cases import source_case
from kernel.errors import Conflict

Reference = Annotated[str, Field(description="The case's reference, e.g. CASE-2026-000042.")]


def _requested(queued: InvestigationQueued) -> dict:
    return {"investigation_id": queued.investigation_id, "case": queued.case_reference}


@tools.tool(
    scope="investigate", title="Investigate a case (proposals wait for a person)", audit=_requested, idempotent=False
)
def run_investigation(key, case_reference: Reference) -> InvestigationQueued:
    """Ask finobs' investigation agent to investigate one case of your source: it gathers evidence (the case's
    transactions and decisions, the account's and its merchants' recent activity, typology checks such as
    structuring or card testing, similar closed cases), then writes findings and a recommendation that cite
    that evidence, and proposes actions (close as, escalate, request information, draft a rule).

    The investigation is queued and runs in the background, usually within seconds: poll get_investigation
    with the returned investigation_id until its status is done or failed. It reads only your source's data.
    Nothing is decided by it: each proposal waits for a person to accept or reject it. One investigation of a
    case runs at a time; asking again while one is under way is refused."""
    case = source_case(key, case_reference)
    try:
        investigation = investigation_request(case=case, actor=key, mode=Investigation.Mode.MCP)
    except Conflict as exc:
        if exc.code != "investigation_running":
            raise
        under_way = case.investigations.filter(status__in=[Investigation.Status.QUEUED, Investigation.Status.RUNNING])
        running = under_way.values_list("pk", flat=True).first()
        raise ToolRefused(
            f"An investigation of {case.reference} is already under way (investigation_id {running}): "
            "read it with get_investigation instead of asking again."
        ) from exc
    investigation.refresh_from_db(fields=["status"])
    return InvestigationQueued(
        investigation_id=investigation.pk, case_reference=case.reference, status=investigation.status
    )


@tools.tool(scope="read", title="Get an investigation with its findings and proposals")
def get_investigation(
    key, investigation_id: Annotated[int, Field(description="The id run_investigation returned.")]
) -> InvestigationOut:
    """One investigation of a case of your source: its status (queued, running, done, failed), and once done
    the recommendation (outcome, confidence, rationale), the findings, the narrative, every evidence item the
    agent's tools returned (id, kind, summary) and the proposals with their status (proposed, accepted,
    applied, rejected, expired) and who decided them.

    Findings, the recommendation and proposals cite evidence ids: tx:<id> is a transaction (see
    explain_transaction), similar:<reference> a closed case (see get_case)."""
    investigation, actions = selectors.investigation_detail(
        None, investigation_id, cases=selectors.cases_for_api_key(key)
    )
    if investigation is None:
        raise ToolRefused(f"No investigation of a case of your source has the id {investigation_id}.")
    recommendation = investigation.recommendation or None
    return InvestigationOut(
        investigation_id=investigation.pk,
        case_reference=investigation.case.reference,
        status=investigation.status,
        mode=investigation.mode,
        requested_by=requester_label(investigation),
        created_at=investigation.created_at,
        finished_at=investigation.finished_at,
        duration_ms=investigation.duration_ms,
        recommendation=RecommendationOut.model_validate(recommendation) if recommendation else None,
        findings=[FindingOut.model_validate(finding) for finding in investigation.findings],
        narrative=investigation.narrative,
        evidence=[EvidenceOut.model_validate(item) for item in investigation.evidence],
        proposals=[
            ProposalOut(
                id=action.pk,
                kind=action.action_kind,
                summary=describe(action),
                status=action.proposal_status,
                rationale=action.rationale,
                evidence_ids=action.evidence_ids,
                decided_by=action.decided_by.get_username() if action.decided_by else None,
                decided_at=action.decided_at,
                reason=action.decision_note,
            )
            for action in actions
        ],
        dropped_claims=investigation.dropped_claims,
        error=investigation.error,
    )
