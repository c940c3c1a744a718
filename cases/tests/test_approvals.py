"""Four-eyes: HIGH/CRITICAL closures and any SAR filing wait for a different approver."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from approvals.services import approval_decide
from audit.models import AuditEvent
from cases.models import Approval
from cases.services import case_close, case_transition
from kernel.errors import Conflict
from scoring.models import Transaction

pytestmark = pytest.mark.django_db


def labels(case):
    return set(Transaction.objects.filter(case_links__case=case).values_list("label", flat=True))


def test_low_severity_closes_directly_and_records_labels(open_case, personas):
    case = open_case("a-1", risk_level="MEDIUM", n=2)
    case = case_close(case=case, outcome="false_positive", rationale="known merchant", actor=personas["alice"])
    assert (case.status, case.outcome) == ("closed", "false_positive")
    assert labels(case) == {"legit"}
    assert not Approval.objects.exists()
    assert AuditEvent.objects.filter(action="case.closed", object_id=case.reference).exists()


def test_high_severity_closure_waits_for_a_different_compliance_approver(open_case, personas):
    case = open_case("a-1", risk_level="HIGH", n=2)
    case = case_transition(case=case, status="investigating", actor=personas["alice"])
    case = case_close(case=case, outcome="confirmed_fraud", rationale="card testing", actor=personas["alice"])
    assert case.status == "pending_approval"
    assert labels(case) == {"unknown"}
    approval = Approval.objects.get(case=case)
    with pytest.raises(PermissionDenied):  # analysts do not approve
        approval_decide(approval=approval, actor=personas["bob"], approve=True)
    with pytest.raises(Conflict):  # no second proposal while one waits
        case_close(case=case, outcome="no_action", rationale="x", actor=personas["alice"])

    approval_decide(approval=approval, actor=personas["carol"], approve=True, note="agree")
    case.refresh_from_db()
    approval.refresh_from_db()
    assert (case.status, case.outcome, approval.status, approval.decided_by) == (
        "closed",
        "confirmed_fraud",
        "approved",
        personas["carol"],
    )
    assert labels(case) == {"fraud"}
    actions = list(AuditEvent.objects.filter(object_id=case.reference).values_list("action", flat=True))
    assert {"case.closure_proposed", "case.closure_approved", "case.closed"} <= set(actions)
    decisions = AuditEvent.objects.filter(object_type="case_closure", object_id=str(approval.pk))
    assert list(decisions.order_by("id").values_list("action", flat=True)) == [
        "approval.requested",
        "approval.approved",
    ]
    with pytest.raises(Conflict):
        approval_decide(approval=approval, actor=personas["dave"], approve=True)


def test_requester_cannot_approve_their_own_closure(open_case, personas):
    case = open_case("a-1", risk_level="CRITICAL")
    case = case_close(case=case, outcome="confirmed_fraud", rationale="mine", actor=personas["carol"])
    approval = Approval.objects.get(case=case)
    with pytest.raises(PermissionDenied):
        approval_decide(approval=approval, actor=personas["carol"], approve=True)
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_the_database_refuses_self_approval_too(open_case, personas):
    case = open_case("a-1", risk_level="CRITICAL")
    case_close(case=case, outcome="confirmed_fraud", rationale="mine", actor=personas["carol"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.filter(case=case).update(
            status="approved", decided_by=personas["carol"], decided_at=case.opened_at
        )


def test_sar_filing_always_needs_approval(open_case, personas):
    case = open_case("a-1", risk_level="LOW")
    case = case_close(case=case, outcome="sar_filed", rationale="structuring", actor=personas["alice"])
    assert case.status == "pending_approval"
    assert "SAR" in Approval.objects.get(case=case).reason


def test_reject_returns_the_case_to_its_previous_status_and_needs_a_reason(open_case, personas):
    case = open_case("a-1", risk_level="HIGH")
    case = case_transition(case=case, status="investigating", actor=personas["alice"])
    case_close(case=case, outcome="false_positive", rationale="looks fine", actor=personas["alice"])
    approval = Approval.objects.get(case=case)
    with pytest.raises(ValidationError):
        approval_decide(approval=approval, actor=personas["carol"], approve=False, note="")
    approval_decide(approval=approval, actor=personas["carol"], approve=False, note="check the device history first")
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("investigating", "")
    assert labels(case) == {"unknown"}


def test_close_needs_outcome_and_rationale(open_case, personas):
    case = open_case("a-1", risk_level="LOW")
    with pytest.raises(ValidationError) as refused:
        case_close(case=case, outcome="maybe", rationale="", actor=personas["alice"])
    assert set(refused.value.message_dict) == {"outcome", "rationale"}
    with pytest.raises(PermissionDenied):
        case_close(case=case, outcome="no_action", rationale="x", actor=personas["victor"])


def test_admin_actions_approve_through_the_same_four_eyes_rules(client, open_case, personas):
    carol, dave = personas["carol"], personas["dave"]
    for officer in (carol, dave):
        officer.is_staff = True
        officer.save()
    mine = case_close(case=open_case("a-1", risk_level="HIGH"), outcome="confirmed_fraud", rationale="r", actor=carol)
    theirs = case_close(
        case=open_case("a-2", risk_level="HIGH"), outcome="confirmed_fraud", rationale="r", actor=personas["alice"]
    )
    client.force_login(carol)
    ids = list(Approval.objects.values_list("pk", flat=True))
    response = client.post(
        "/admin/cases/approval/", {"action": "approve_selected", "_selected_action": ids}, follow=True
    )
    assert response.status_code == 200
    statuses = dict(Approval.objects.values_list("case__reference", "status"))
    assert statuses == {mine.reference: "pending", theirs.reference: "approved"}  # not her own request
    assert "cannot approve your own request" in response.content.decode()


def test_admin_pages_for_cases_teams_and_rules(client, open_case, make_user, personas):
    admin_user = make_user("org_admin", "root")
    admin_user.is_staff = True
    admin_user.save()
    case = open_case("a-1")
    client.force_login(admin_user)
    for url in (
        "/admin/cases/case/",
        f"/admin/cases/case/{case.pk}/change/",
        "/admin/cases/team/",
        "/admin/cases/routingrule/",
        "/admin/cases/approval/",
        "/admin/cases/comment/",
    ):
        assert client.get(url).status_code == 200, url
    # an analyst who is staff would still only list their own team's cases
    bob = personas["bob"]
    bob.is_staff = True
    bob.save()
    client.force_login(bob)
    listing = client.get("/admin/cases/case/")
    assert listing.status_code == 200
    assert case.reference not in listing.content.decode()
