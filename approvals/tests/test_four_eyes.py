"""The one four-eyes mechanism, across its kinds: who may decide, withdrawal, reasons, one page, admin."""

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.kinds import approval_kinds
from approvals.models import FourEyesRequest
from approvals.services import FourEyesViolation, approval_decide
from cases.models import AgentAction, Approval
from cases.services import case_close, case_transition
from delivery.models import OutboxEvent
from kernel.errors import Conflict
from scoring.models import CalibrationRequest, ModelVersion, PromotionRequest, RuleActivation
from scoring.services.registry import promotion_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidate(model_version):
    fields = {f.attname: getattr(model_version, f.attname) for f in ModelVersion._meta.concrete_fields}
    fields.update(id=None, version=2, status=ModelVersion.Status.CANDIDATE)
    return ModelVersion.objects.create(**fields)


@pytest.fixture
def closure(open_case, personas):
    case = case_transition(case=open_case("a-1", risk_level="HIGH"), status="investigating", actor=personas["alice"])
    case_close(case=case, outcome="confirmed_fraud", rationale="card testing", actor=personas["alice"])
    return Approval.objects.get(case=case)


def test_every_concrete_kind_of_request_is_registered():
    concrete = {m for m in apps.get_models() if issubclass(m, FourEyesRequest)}
    expected = {Approval, PromotionRequest, CalibrationRequest, AgentAction, RuleActivation}
    assert concrete == {kind.model for kind in approval_kinds()} == expected


def test_the_requester_may_withdraw_but_never_approve(closure, personas):
    with pytest.raises(FourEyesViolation):
        approval_decide(approval=closure, actor=personas["alice"], approve=True)
    approval_decide(approval=closure, actor=personas["alice"], approve=False)
    closure.refresh_from_db()
    closure.case.refresh_from_db()
    assert (closure.status, closure.decided_by, closure.case.status) == ("withdrawn", None, "investigating")
    with pytest.raises(Conflict):
        approval_decide(approval=closure, actor=personas["carol"], approve=True)


def test_rejecting_needs_a_reason_for_every_kind(closure, candidate, personas):
    promotion = promotion_request(model_version=candidate, actor=personas["carol"], reason="better recall")
    for pending in (closure, promotion):
        with pytest.raises(ValidationError):
            approval_decide(approval=pending, actor=personas["dave"], approve=False, note="  ")
    approval_decide(approval=promotion, actor=personas["dave"], approve=False, note="held-out recall is worse")
    promotion.refresh_from_db()
    assert (promotion.status, promotion.decided_by, promotion.decision_note) == (
        "rejected",
        personas["dave"],
        "held-out recall is worse",
    )
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CANDIDATE


def test_deciding_needs_the_kinds_permission(closure, candidate, personas):
    promotion = promotion_request(model_version=candidate, actor=personas["carol"])
    with pytest.raises(PermissionDenied):
        approval_decide(approval=closure, actor=personas["bob"], approve=True)  # an analyst
    with pytest.raises(PermissionDenied):
        approval_decide(approval=promotion, actor=personas["alice"], approve=True)
    assert {a.status for a in (closure, promotion)} == {"pending"}


def test_one_pending_request_per_subject_and_the_database_refuses_self_decision(candidate, personas):
    promotion = promotion_request(model_version=candidate, actor=personas["carol"])
    with pytest.raises(Conflict):
        promotion_request(model_version=candidate, actor=personas["dave"])
    with pytest.raises(IntegrityError), transaction.atomic():
        PromotionRequest.objects.filter(pk=promotion.pk).update(
            status="approved", decided_by=personas["carol"], decided_at=timezone.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # a decision without its decider
        PromotionRequest.objects.filter(pk=promotion.pk).update(status="approved", decided_at=timezone.now())


def test_requests_and_decisions_are_published(closure, personas):
    approval_decide(approval=closure, actor=personas["carol"], approve=True, note="agreed")
    events = OutboxEvent.objects.filter(event_type__startswith="approval.").order_by("id")
    assert [(e.event_type, e.payload["kind"], e.payload["subject"]) for e in events] == [
        ("approval.requested", "case_closure", closure.case.reference),
        ("approval.approved", "case_closure", closure.case.reference),
    ]


def test_one_page_lists_every_kind_the_user_may_see_and_decides_them(client, closure, candidate, personas):
    promotion = promotion_request(model_version=candidate, actor=personas["dave"], reason="better recall")
    client.force_login(personas["carol"])
    page = client.get("/approvals/").content.decode()
    assert closure.case.reference in page and "card testing" in page
    assert "model v2" in page and "better recall" in page
    assert f'action="/approvals/model_promotion/{promotion.pk}/approve"' in page
    response = client.post(f"/approvals/model_promotion/{promotion.pk}/approve", {"note": "ok"})
    assert response.status_code == 302
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CHAMPION

    client.force_login(personas["dave"])  # dave asked for the promotion: its history shows, no decision on it
    decided = client.get("/approvals/?status=approved").content.decode()
    assert "model v2" in decided and "carol" in decided


def test_an_analyst_sees_only_their_teams_requests_and_cannot_decide(client, closure, open_case, personas):
    other = case_close(
        case=open_case("b-1", risk_level="HIGH"), outcome="confirmed_fraud", rationale="x", actor=personas["bob"]
    )
    client.force_login(personas["alice"])
    page = client.get("/approvals/").content.decode()
    assert closure.case.reference in page and other.reference not in page
    assert f"/approvals/case_closure/{closure.pk}/approve" not in page  # her own: withdraw only
    foreign = Approval.objects.get(case=other)
    assert client.post(f"/approvals/case_closure/{foreign.pk}/reject", {"note": "no"}).status_code == 404
    client.force_login(personas["victor"])  # a viewer neither asks nor decides
    assert client.get("/approvals/").status_code == 403


def test_admin_rejects_only_with_a_reason(client, closure, personas):
    carol = personas["carol"]
    carol.is_staff = True
    carol.save()
    client.force_login(carol)
    url = "/admin/cases/approval/"
    asked = client.post(url, {"action": "reject_selected", "_selected_action": [closure.pk]})
    assert asked.status_code == 200 and "Reject with a reason" in asked.content.decode()
    closure.refresh_from_db()
    assert closure.status == "pending"
    client.post(
        url,
        {"action": "reject_selected", "_selected_action": [closure.pk], "confirm": "1", "note": "ask for the KYC"},
    )
    closure.refresh_from_db()
    closure.case.refresh_from_db()
    assert (closure.status, closure.decision_note, closure.case.status) == (
        "rejected",
        "ask for the KYC",
        "investigating",
    )
