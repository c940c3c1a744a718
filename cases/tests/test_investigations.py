"""Investigations: each tool's evidence, the whole run with the offline provider, evidence-id validation,
scoping, proposals decided by people (four-eyes on closures still applies), and the timeline and audit."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from approvals.models import ApprovalStatus
from audit.models import AuditEvent
from cases.investigations import tools
from cases.investigations.agent import InvestigationReport, validate
from cases.investigations.evidence import EvidenceRegister
from cases.investigations.scope import ReadScope
from cases.models import AgentAction, Approval, CaseEvent
from cases.services.investigations import investigation_request
from cases.services.proposals import agent_action_decide
from cases.tests.conftest import investigated as run
from cases.tests.conftest import stored

pytestmark = pytest.mark.django_db


def bench_for(case, reader):
    return tools.Workbench(
        case=case, scope=ReadScope(user=reader), proposer=reader, register=EvidenceRegister(), deadline=float("inf")
    )


def call(bench, name, **arguments):
    func, _schema = tools.TOOLS[name]
    output = func(bench, **arguments)
    bench.register.record(output, arguments=arguments, started=0.0)
    return output


def test_each_tool_returns_evidence_with_stable_ids(case_with, personas, model_version):
    case = case_with(
        "a-struct",
        [9500, 9400, 9300],
        rule_hits=[
            {
                "rule": "structuring-24h",
                "name": "Structuring",
                "action": "flag",
                "risk_level": "HIGH",
                "reason": "3 payments",
            }
        ],
    )
    stored(model_version, account_id="a-other", amounts=[12], flagged=False, merchant="m-shop", minutes_apart=90)
    bench = bench_for(case, personas["alice"])
    context = call(bench, "case_context")
    ids = {item.id for item in context.evidence}
    tx_ids = {f"tx:{pk}" for pk in case.transactions.values_list("pk", flat=True)}
    assert f"case:{case.reference}" in ids and tx_ids <= ids
    assert any(i.startswith("rule_hit:") for i in ids)
    activity = call(bench, "account_activity")
    activity_ids = {item.id for item in activity.evidence}
    assert f"activity:account:{case.account_id}" in activity_ids
    assert "activity:merchant:m-shop" in activity_ids  # merchant history: the other account's payment
    merchant = next(i for i in activity.evidence if i.id == "activity:merchant:m-shop")
    assert merchant.data["transactions"] == 1
    found = call(bench, "pattern_analysis")
    structuring = next(i for i in found.evidence if i.id == "pattern:structuring")
    assert structuring.data["matched"] and structuring.data["thresholds"]["threshold"] == 10_000
    assert {f"tx:{r}" for r in structuring.data["rows"]} == tx_ids
    assert not next(i for i in found.evidence if i.id == "pattern:card_testing").data["matched"]
    call(bench, "similar_cases")
    reasoning = call(bench, "reasoning")
    assert any("Structuring" in f.title for f in reasoning.findings)
    assert all(set(f.evidence_ids) <= set(bench.register.items) for f in reasoning.findings)
    rec = call(bench, "recommendation")
    assert rec.recommendation.outcome in {"confirmed_fraud", "escalate"}  # alice may not file a SAR
    assert "sar_filed" not in rec.permitted_outcomes
    draft = call(bench, "rule_draft", typology="structuring")
    assert draft.draft["kind"] == "structuring" and draft.evidence[0].id.startswith("backtest:")
    assert draft.evidence[0].data["hits"] == 2  # the second and third payment: the rule counts what came before
    # The same rows give the same ids in a second investigation.
    again = bench_for(case, personas["alice"])
    assert {i.id for i in call(again, "case_context").evidence} == ids


def test_offline_investigation_is_done_with_evidence_findings_and_proposals(case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    investigation = run(case, personas["alice"])
    assert investigation.status == "done", investigation.error
    assert investigation.provider == "offline" and investigation.prompt_version
    evidence_ids = {item["id"] for item in investigation.evidence}
    assert investigation.findings and all(set(f["evidence_ids"]) <= evidence_ids for f in investigation.findings)
    assert investigation.recommendation["outcome"] == "confirmed_fraud"
    assert [step["tool"] for step in investigation.trace if "tool" in step][:6] == [
        "case_context",
        "account_activity",
        "pattern_analysis",
        "similar_cases",
        "reasoning",
        "recommendation",
    ]
    assert all(step["output_digest"] for step in investigation.trace if "tool" in step)
    kinds = set(AgentAction.objects.filter(investigation=investigation).values_list("action_kind", flat=True))
    assert {"close_as", "draft_rule"} <= kinds
    assert CaseEvent.objects.filter(case=case, kind="investigated", data__investigation_id=investigation.pk).exists()
    assert AuditEvent.objects.filter(action="case.investigated", object_id=case.reference).exists()
    assert AuditEvent.objects.filter(action="investigation.requested", object_id=str(investigation.pk)).exists()


def test_a_legitimate_looking_case_is_recommended_false_positive(case_with, personas):
    case = case_with("a-legit", [42, 18], risk_level="MEDIUM", minutes_apart=600)
    investigation = run(case, personas["alice"])
    assert investigation.status == "done", investigation.error
    assert investigation.recommendation["outcome"] == "false_positive"


def test_accepting_a_high_closure_parks_it_for_a_second_approver(case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    investigation = run(case, personas["alice"])
    close = AgentAction.objects.get(investigation=investigation, action_kind="close_as")
    assert close.proposal_status == "proposed"
    agent_action_decide(action=close, actor=personas["alice"], accept=True)
    close.refresh_from_db()
    case.refresh_from_db()
    assert close.status == ApprovalStatus.APPROVED and close.decided_by == personas["alice"]
    assert case.status == "pending_approval" and close.proposal_status == "accepted"
    approval = Approval.objects.get(case=case, status="pending")
    assert approval.requested_by == personas["alice"] and approval.outcome == "confirmed_fraud"
    decided = CaseEvent.objects.get(case=case, kind="proposal_decided")
    assert decided.data["accepted"] and decided.actor == "user:alice"
    assert AuditEvent.objects.filter(action="agent_action.accepted", object_id=case.reference).exists()


def test_rejecting_needs_a_reason_and_is_recorded(case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    investigation = run(case, personas["alice"])
    close = AgentAction.objects.get(investigation=investigation, action_kind="close_as")
    with pytest.raises(ValidationError):
        agent_action_decide(action=close, actor=personas["alice"], accept=False, reason=" ")
    agent_action_decide(action=close, actor=personas["alice"], accept=False, reason="customer confirmed the payments")
    close.refresh_from_db()
    assert close.proposal_status == "rejected" and close.decision_note == "customer confirmed the payments"
    case.refresh_from_db()
    assert case.status != "pending_approval"
    event = CaseEvent.objects.get(case=case, kind="proposal_decided")
    assert event.data["accepted"] is False and event.data["reason"] == "customer confirmed the payments"


def test_another_team_cannot_see_or_decide(case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    from kernel.errors import Conflict

    with pytest.raises(Conflict):
        investigation_request(case=case, actor=personas["bob"])
    investigation = run(case, personas["alice"])
    close = AgentAction.objects.get(investigation=investigation, action_kind="close_as")
    with pytest.raises(PermissionDenied):
        agent_action_decide(action=close, actor=personas["bob"], accept=True)
    with pytest.raises(PermissionDenied):  # viewers cannot ask
        investigation_request(case=case, actor=personas["victor"])


def test_reads_are_scoped_to_the_requester(case_with, personas, model_version):
    """Team B's case at the same merchant never reaches team A's investigation."""
    a_case = case_with("a-1", [9500, 9400], merchant="m-shared")
    case_with("b-1", [9600, 9700], merchant="m-shared")
    bench = bench_for(a_case, personas["alice"])
    activity = call(bench, "account_activity")
    assert "activity:merchant:m-shared" not in {i.id for i in activity.evidence}
    for item in activity.evidence:
        assert "b-1" not in str(item.data)
    carol = bench_for(a_case, personas["carol"])  # compliance sees every team
    merchant = next(i for i in call(carol, "account_activity").evidence if i.id == "activity:merchant:m-shared")
    assert merchant.data["accounts"] == 1 and merchant.data["transactions"] >= 1


def test_unknown_evidence_ids_are_dropped_and_counted(case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    bench = bench_for(case, personas["alice"])
    for name in ("case_context", "account_activity", "pattern_analysis"):
        call(bench, name)
    report = InvestigationReport.model_validate(
        {
            "narrative": "n",
            "findings": [
                {"title": "real", "detail": "d", "evidence_ids": ["pattern:structuring"]},
                {"title": "invented", "detail": "d", "evidence_ids": ["tx:999999"]},
                {"title": "half", "detail": "d", "evidence_ids": ["pattern:structuring", "comment:424242"]},
            ],
            "recommendation": {
                "outcome": "confirmed_fraud",
                "confidence": 0.9,
                "rationale": "r",
                "evidence_ids": ["pattern:structuring"],
            },
            "actions": [
                {
                    "kind": "close_as",
                    "payload": {"outcome": "confirmed_fraud"},
                    "rationale": "r",
                    "evidence_ids": ["made-up"],
                }
            ],
        }
    )
    result = validate(report, bench)
    assert [f["title"] for f in result.findings] == ["real"]
    assert result.dropped_claims == 3
    assert result.actions == []
    assert result.recommendation["outcome"] == "confirmed_fraud"


def test_an_api_keys_investigation_needs_its_scope_and_source_and_fails_once_the_key_is_revoked(
    case_with, django_capture_on_commit_callbacks
):
    from apikeys.services import api_key_create, api_key_revoke
    from cases.models import Investigation
    from cases.services.investigations import investigation_run
    from conftest import default_organisation
    from kernel.errors import Conflict

    case = case_with("a-1", [9500, 9400])  # of the source "acme"

    def key(source, scopes=("mcp", "read", "investigate")):
        return api_key_create(organisation=default_organisation(), name=source, source=source, scopes=list(scopes))[0]

    with pytest.raises(Conflict):
        investigation_request(case=case, actor=key("other-bank"), mode=Investigation.Mode.MCP)
    with pytest.raises(PermissionDenied):
        investigation_request(case=case, actor=key("acme", ("mcp", "read")), mode=Investigation.Mode.MCP)
    asking = key("acme")
    with django_capture_on_commit_callbacks(execute=False):
        investigation = investigation_request(case=case, actor=asking, mode=Investigation.Mode.MCP)
    assert investigation.api_key == asking and investigation.requested_by.username.startswith("finobs-agent.")
    api_key_revoke(key=asking)
    investigation = investigation_run(investigation_id=investigation.pk)
    assert investigation.status == Investigation.Status.FAILED and "revoked" in investigation.error
    assert not AgentAction.objects.filter(investigation=investigation).exists()


def test_an_escalated_case_is_not_proposed_for_escalation_again(case_with, personas):
    """An escalation the case already has cannot be applied: the agent asks for information instead."""
    case = case_with("a-mid", [320, 290])
    case.status = case.Status.ESCALATED
    bench = bench_for(case, personas["alice"])
    call(bench, "case_context")
    recommendation = tools.Recommendation(
        outcome="escalate",
        confidence=0.5,
        rationale="A senior look is warranted.",
        evidence_ids=[f"case:{case.reference}"],
    )
    kinds = [action.kind for action in tools._actions_for(bench, recommendation)]
    assert "escalate" not in kinds and "request_information" in kinds
    case.status = case.Status.INVESTIGATING
    assert "escalate" in [action.kind for action in tools._actions_for(bench, recommendation)]
