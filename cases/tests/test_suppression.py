"""Duplicate suppression: after a false-positive closure, the account's new flagged transactions wait in a
lightweight review instead of opening a case, within the rule's window and severity."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case, CaseEvent, SuppressedAlert, SuppressionRule
from cases.services import case_close, open_cases_for_decisions
from cases.tests.conftest import flagged_decisions
from delivery.models import OutboxEvent
from scoring.models import Label, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_as_false_positive(personas, open_case):
    case = open_case("a-1", risk_level="MEDIUM")
    case_close(case=case, outcome="false_positive", rationale="Salary", actor=personas["alice"])
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    return case


def test_a_new_alert_after_a_false_positive_is_held_for_review(closed_as_false_positive, model_version):
    previous = closed_as_false_positive
    decisions = flagged_decisions(model_version, account_id="a-1", risk_level="MEDIUM")
    references = open_cases_for_decisions(decisions=decisions, actor="tests")
    assert references == {}
    assert not Case.objects.open().filter(account_id="a-1").exists()
    alert = SuppressedAlert.objects.get()
    assert (alert.account_id, alert.previous_case, alert.status) == ("a-1", previous, "pending")
    event = CaseEvent.objects.get(case=previous, kind=CaseEvent.Kind.DUPLICATE_SUPPRESSED)
    assert event.data["transaction_ids"] == [decisions[0].transaction_id] and event.data["window_days"] == 14
    assert AuditEvent.objects.filter(action="case.duplicate_suppressed", object_id=previous.reference).exists()
    assert OutboxEvent.objects.filter(event_type="case.duplicate_suppressed").exists()


def test_severe_alerts_old_closures_and_a_switched_off_rule_still_open_cases(closed_as_false_positive, model_version):
    critical = flagged_decisions(model_version, account_id="a-1", risk_level="CRITICAL")
    assert open_cases_for_decisions(decisions=critical, actor="tests")  # above the rule's max severity
    opened = Case.objects.open().get(account_id="a-1")
    opened.status, opened.outcome, opened.closed_at = "closed", "false_positive", timezone.now() - timedelta(days=30)
    opened.save()
    Case.objects.filter(pk=closed_as_false_positive.pk).update(closed_at=timezone.now() - timedelta(days=15))
    assert open_cases_for_decisions(decisions=flagged_decisions(model_version, account_id="a-1"), actor="t")
    Case.objects.open().filter(account_id="a-1").update(
        status="closed", outcome="false_positive", closed_at=timezone.now()
    )
    SuppressionRule.objects.create(is_active=False)
    assert open_cases_for_decisions(decisions=flagged_decisions(model_version, account_id="a-1"), actor="t")
    assert not SuppressedAlert.objects.exists()


def test_the_review_dismisses_or_opens_a_case(client, personas, closed_as_false_positive, model_version):
    first, second = (
        flagged_decisions(model_version, account_id="a-1", risk_level="MEDIUM")[0],
        flagged_decisions(model_version, account_id="a-1", risk_level="LOW")[0],
    )
    open_cases_for_decisions(decisions=[first], actor="tests")
    open_cases_for_decisions(decisions=[second], actor="tests")
    held = {a.transaction_id: a for a in SuppressedAlert.objects.all()}
    client.force_login(personas["alice"])
    page = client.get("/cases/suppressed/").content.decode()
    assert f'data-alert="{held[first.transaction_id].pk}"' in page and "14 days" in page
    dismissed = client.post(f"/cases/suppressed/{held[first.transaction_id].pk}/dismiss", {"note": "Salary again"})
    assert dismissed.status_code == 302
    assert Transaction.objects.get(pk=first.transaction_id).label == Label.LEGIT
    opened = client.post(f"/cases/suppressed/{held[second.transaction_id].pk}/open-case", {"note": "New merchant"})
    case = Case.objects.open().get(account_id="a-1")
    assert opened["Location"] == f"/cases/{case.reference}/"
    assert case.links.get().transaction_id == second.transaction_id
    statuses = dict(SuppressedAlert.objects.values_list("transaction_id", "status"))
    assert statuses == {first.transaction_id: "dismissed", second.transaction_id: "case_opened"}
    assert AuditEvent.objects.filter(action="case.suppressed_alert_reviewed").count() == 2
    again = client.post(f"/cases/suppressed/{held[first.transaction_id].pk}/dismiss", {"note": "x"}, follow=True)
    assert "reviewed already" in again.content.decode()


def test_the_review_is_scoped_and_a_viewer_cannot_decide(client, personas, closed_as_false_positive, model_version):
    open_cases_for_decisions(decisions=flagged_decisions(model_version, account_id="a-1"[:3]), actor="t")
    alert = SuppressedAlert.objects.get()
    client.force_login(personas["bob"])  # team B does not see team A's closed case
    assert f'data-alert="{alert.pk}"' not in client.get("/cases/suppressed/").content.decode()
    assert client.post(f"/cases/suppressed/{alert.pk}/dismiss", {"note": "x"}).status_code == 404
    client.force_login(personas["victor"])
    assert client.post(f"/cases/suppressed/{alert.pk}/dismiss", {"note": "x"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == "pending"


def test_admins_set_the_rule(client, make_user):
    admin_user = make_user("org_admin", "olga")
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(
        "/admin/cases/suppressionrule/add/", {"is_active": "on", "window_days": "30", "max_severity": "medium"}
    )
    assert response.status_code == 302, response.content[:1000]
    assert SuppressionRule.objects.get().window_days == 30


def test_the_api_lists_and_reviews_held_back_alerts(client, personas, closed_as_false_positive, model_version):
    decision = flagged_decisions(model_version, account_id="a-1", risk_level="LOW")[0]
    open_cases_for_decisions(decisions=[decision], actor="tests")
    alert = SuppressedAlert.objects.get()
    client.force_login(personas["alice"])
    listed = client.get("/api/v1/suppressed-alerts/").json()
    assert [a["id"] for a in listed] == [alert.pk] and listed[0]["previous_case"] == closed_as_false_positive.reference
    empty = client.post(f"/api/v1/suppressed-alerts/{alert.pk}/dismiss", {}, content_type="application/json")
    assert empty.status_code == 400
    opened = client.post(
        f"/api/v1/suppressed-alerts/{alert.pk}/open-case", {"note": "New merchant"}, content_type="application/json"
    )
    assert opened.status_code == 200 and opened.json()["status"] == "case_opened" and opened.json()["opened_case"]
    client.force_login(personas["bob"])
    assert client.get("/api/v1/suppressed-alerts/?status=case_opened").json() == []
