"""Case lifecycle services: legal transitions only, and every change leaves its evidence."""

from collections import defaultdict

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from guardian.shortcuts import get_perms

from audit.models import AuditEvent
from cases.models import Case, CaseEvent, Mention
from cases.services import (
    case_assign,
    case_comment,
    case_escalate,
    case_share,
    case_transition,
    case_update,
    open_cases_for_decisions,
)
from cases.tests.conftest import flagged_decisions
from delivery.models import OutboxEvent
from kernel.errors import Conflict

pytestmark = pytest.mark.django_db


def evidence(case, action):
    return (
        CaseEvent.objects.filter(case=case).count(),
        AuditEvent.objects.filter(object_id=case.reference, action=action).count(),
        case.history.count(),
        OutboxEvent.objects.filter(event_type=action, payload__reference=case.reference).count(),
    )


def test_opening_routes_to_the_team_of_the_first_matching_rule(open_case, teams):
    team_a, team_b = teams
    assert open_case("a-1").team == team_a
    assert open_case("b-1").team == team_b
    assert open_case("z-1").team is None  # no rule: the unrouted queue compliance sees


def test_rule_hits_raise_severity(open_case):
    flag_hit = [
        {"rule": "sanctions", "name": "Sanctioned country", "action": "flag", "risk_level": "MEDIUM", "reason": "KP"}
    ]
    case = open_case("a-2", risk_level="MEDIUM", rule_hits=flag_hit)
    assert case.severity == "high"
    assert case.priority == 2
    critical_hit = [
        {
            "rule": "structuring",
            "name": "Structuring",
            "action": "raise",
            "risk_level": "CRITICAL",
            "reason": "9 deposits under 10k",
        }
    ]
    assert open_case("a-3", risk_level="LOW", rule_hits=critical_hit).severity == "critical"


def test_legal_transitions_leave_timeline_history_audit_and_outbox(open_case, personas):
    case = open_case("a-1")
    before = evidence(case, "case.updated")
    case = case_transition(case=case, status="triage", actor=personas["alice"], reason="looking")
    case = case_transition(case=case, status="investigating", actor=personas["alice"])
    after = evidence(case, "case.updated")
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2, 2, 2]
    last = CaseEvent.objects.filter(case=case).last()
    assert (last.kind, last.data["from"], last.data["to"], last.actor) == (
        "status_changed",
        "triage",
        "investigating",
        "user:alice",
    )
    assert case.history.first().history_user == personas["alice"]


@pytest.mark.parametrize("target", ["closed", "pending_approval", "new"])
def test_illegal_transitions_are_refused_and_change_nothing(open_case, personas, target):
    case = open_case("a-1")
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(Conflict):
        case_transition(case=case, status=target, actor=personas["alice"])
    case.refresh_from_db()
    assert case.status == "new"
    assert CaseEvent.objects.filter(case=case).count() == events


def test_viewer_cannot_change_a_case(open_case, personas):
    case = open_case("a-1")
    with pytest.raises(PermissionDenied):
        case_transition(case=case, status="triage", actor=personas["victor"])


def test_claim_and_assign(open_case, personas):
    case = open_case("a-1")
    case = case_assign(case=case, assignee=personas["alice"], actor=personas["alice"])
    assert case.assignee == personas["alice"]
    assert AuditEvent.objects.filter(action="case.assigned", object_id=case.reference).exists()
    # bob (team B) cannot see team A's case, so he cannot be given it without escalation/sharing
    with pytest.raises(ValidationError):
        case_assign(case=case, assignee=personas["bob"], actor=personas["alice"])
    with pytest.raises(ValidationError):
        case_assign(case=case, assignee=personas["victor"], actor=personas["alice"])  # viewers do not work cases


def test_escalate_to_another_team_moves_the_case_and_needs_a_reason(open_case, personas, teams):
    case = open_case("a-1")
    with pytest.raises(ValidationError):
        case_escalate(case=case, actor=personas["alice"], reason=" ", team=teams[1])
    case = case_escalate(case=case, actor=personas["alice"], reason="wire fraud ring", team=teams[1])
    assert (case.status, case.team) == ("escalated", teams[1])
    assert Case.objects.visible_to(personas["bob"]).filter(pk=case.pk).exists()
    assert not Case.objects.visible_to(personas["alice"]).filter(pk=case.pk).exists()
    assert CaseEvent.objects.filter(case=case, kind="escalated", data__reason="wire fraud ring").exists()


def test_sharing_grants_a_guardian_object_permission(open_case, personas):
    case = open_case("a-1")
    assert not Case.objects.visible_to(personas["bob"]).filter(pk=case.pk).exists()
    case_share(case=case, user=personas["bob"], actor=personas["alice"])
    assert "view_case" in get_perms(personas["bob"], case)
    assert Case.objects.visible_to(personas["bob"]).filter(pk=case.pk).exists()


def test_comment_with_mentions_notifies_only_people_who_can_see_the_case(open_case, personas):
    case = open_case("a-1")
    comment = case_comment(case=case, body="@carol please look; cc @alice", author=personas["alice"])
    assert set(Mention.objects.filter(comment=comment).values_list("user__username", flat=True)) == {"carol", "alice"}
    event = CaseEvent.objects.get(case=case, kind="commented")
    assert event.data["mentions"] == ["carol", "alice"]
    with pytest.raises(ValidationError) as refused:
        case_comment(case=case, body="@bob have a look", author=personas["alice"])  # bob cannot see it
    assert "bob" in str(refused.value)
    with pytest.raises(ValidationError):
        case_comment(case=case, body="   ", author=personas["alice"])
    assert not Mention.objects.filter(user=personas["bob"]).exists()


def test_update_severity_moves_sla_and_priority(open_case, personas):
    case = open_case("a-1", risk_level="MEDIUM")
    due = case.sla_due_at
    case = case_update(case=case, actor=personas["alice"], severity="critical")
    assert case.priority == 1
    assert case.sla_due_at < due
    with pytest.raises(ValidationError):
        case_update(case=case, actor=personas["alice"], account_id="x")


def test_a_big_batch_opens_and_extends_cases_with_every_decision_linked(open_case, model_version):
    """~180 flagged decisions of 121 accounts at once (links and events go in by COPY on PostgreSQL): none lost."""
    extended = open_case("a-900")
    expected = defaultdict(set, {"a-900": set(extended.links.values_list("transaction_id", flat=True))})
    decisions = flagged_decisions(model_version, account_id="a-900", n=3)
    for n in range(120):
        decisions += flagged_decisions(model_version, account_id=f"b-{n}", n=1 + n % 2)
    for d in decisions:
        expected[d.transaction.account_id].add(d.transaction_id)

    case_references = open_cases_for_decisions(decisions=decisions, actor="tests")

    cases = {case.account_id: case for case in Case.objects.open()}
    assert len(cases) == 121
    assert {d.transaction_id: cases[d.transaction.account_id].reference for d in decisions} == case_references
    for account, case in cases.items():
        assert set(case.links.values_list("transaction_id", flat=True)) == expected[account]
    opened = CaseEvent.objects.filter(kind=CaseEvent.Kind.OPENED, case__account_id__startswith="b-")
    assert opened.count() == 120
    assert list(opened.order_by("id").values_list("data", flat=True)[:1]) == [
        {"transaction_ids": [decisions[3].transaction_id], "max_risk_level": "HIGH"}
    ]
    added = CaseEvent.objects.get(kind=CaseEvent.Kind.TRANSACTIONS_ADDED, case=extended)
    assert added.data["transaction_ids"] == [d.transaction_id for d in decisions[:3]]
    assert AuditEvent.objects.filter(action="case.opened", object_id__startswith="CASE-").count() == 121
