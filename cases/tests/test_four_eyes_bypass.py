"""Four-eyes cannot be walked around: not by lowering severity, not while a closure waits, not from admin."""

import pytest
from django.urls import reverse

from approvals.services import approval_decide
from audit.models import AuditEvent
from cases.models import Approval, Case
from cases.services import case_close, case_update
from scoring.models import Label, Transaction

pytestmark = pytest.mark.django_db


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_an_analyst_cannot_lower_severity_and_then_close_alone(client, personas, open_case):
    case = open_case("a-1", risk_level="HIGH", n=2)
    client.force_login(personas["alice"])
    lowered = patch(client, f"/api/v1/cases/{case.reference}/", {"severity": "low"})
    assert lowered.status_code == 403
    closed = post(client, f"/api/v1/cases/{case.reference}/close/", {"outcome": "false_positive", "rationale": "ok"})
    assert closed.json()["status"] == "pending_approval"
    assert set(Transaction.objects.filter(case_links__case=case).values_list("label", flat=True)) == {Label.UNKNOWN}


def test_four_eyes_follows_the_highest_severity_the_case_had(personas, open_case):
    case = open_case("a-1", risk_level="CRITICAL")
    case = case_update(case=case, severity="low", actor=personas["carol"])  # compliance may lower it
    assert (case.severity, case.peak_severity) == ("low", "critical")
    case = case_close(case=case, outcome="false_positive", rationale="known customer", actor=personas["alice"])
    assert case.status == "pending_approval"
    assert "was critical" in Approval.objects.get(case=case).reason


def test_raising_severity_raises_the_peak_and_new_decisions_do_too(personas, open_case):
    case = open_case("a-1", risk_level="MEDIUM")
    assert case.peak_severity == "medium"
    case = case_update(case=case, severity="high", actor=personas["alice"])  # raising needs no second person
    assert case.peak_severity == "high"
    open_case("a-1", risk_level="CRITICAL")  # joins the open case
    case.refresh_from_db()
    assert (case.severity, case.peak_severity) == ("critical", "critical")


def test_a_case_waiting_for_approval_is_frozen_except_for_comments(client, personas, open_case):
    case = open_case("a-1", risk_level="HIGH")
    case_close(case=case, outcome="confirmed_fraud", rationale="card testing", actor=personas["alice"])
    ref = case.reference
    client.force_login(personas["carol"])  # compliance: it is the state, not the person, that refuses
    for response in (
        patch(client, f"/api/v1/cases/{ref}/", {"severity": "low"}),
        patch(client, f"/api/v1/cases/{ref}/", {"title": "nothing to see"}),
        post(client, f"/api/v1/cases/{ref}/assign/", {"assignee": "dave"}),
        post(client, f"/api/v1/cases/{ref}/escalate/", {"reason": "move it", "team": "team-b"}),
    ):
        assert (response.status_code, response.json()["code"]) == (409, "case_frozen"), response.json()
    case.refresh_from_db()
    assert (case.severity, case.peak_severity, case.status) == ("high", "high", "pending_approval")
    assert post(client, f"/api/v1/cases/{ref}/comment/", {"body": "looking at it"}).status_code == 201
    bulk = client.post("/cases/bulk-assign", {"reference": [ref], "assignee": "dave"})
    assert bulk.status_code == 302
    case.refresh_from_db()
    assert case.assignee is None  # the bulk action goes through the same rule
    approval_decide(approval=case.approvals.get(), actor=personas["carol"], approve=True)
    case.refresh_from_db()
    assert case.status == "closed"


def test_admin_edits_of_a_case_go_through_the_same_rules(client, personas, open_case, make_user):
    admin_user = make_user("org_admin", "root")
    admin_user.is_staff = True
    admin_user.save()
    case = open_case("a-1", risk_level="HIGH")
    client.force_login(admin_user)
    url = reverse("admin:cases_case_change", args=[case.pk])
    page = client.get(url).content.decode()
    assert 'name="severity"' not in page  # severity changes only through the workspace's rules
    client.post(url, {"title": "Renamed in admin", "priority": 2, **_inline_management()})
    case.refresh_from_db()
    assert case.title == "Renamed in admin"
    assert AuditEvent.objects.filter(action="case.updated", object_id=case.reference, actor="user:root").exists()
    case_close(case=case, outcome="confirmed_fraud", rationale="r", actor=personas["alice"])
    client.post(url, {"title": "Renamed while frozen", "priority": 2, **_inline_management()})
    case.refresh_from_db()
    assert case.title == "Renamed in admin"


def test_labels_change_only_through_case_closures(client, personas, open_case, make_user):
    admin_user = make_user("org_admin", "root")
    admin_user.is_staff = True
    admin_user.save()
    case = open_case("a-1", risk_level="HIGH", n=2)
    ids = list(Transaction.objects.filter(case_links__case=case).values_list("pk", flat=True))
    client.force_login(admin_user)
    client.post(reverse("admin:scoring_transaction_changelist"), {"action": "label_legit", "_selected_action": ids})
    assert set(Transaction.objects.filter(pk__in=ids).values_list("label", flat=True)) == {Label.UNKNOWN}
    assert not AuditEvent.objects.filter(action="transaction.labelled").exists()
    assert Case.objects.get(pk=case.pk).status != "closed"


def _inline_management() -> dict:
    """The empty inline formsets the case change form posts with."""
    return {
        f"{prefix}-{key}": value
        for prefix in ("links", "events")
        for key, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0), ("MIN_NUM_FORMS", 0), ("MAX_NUM_FORMS", 1000))
    }
