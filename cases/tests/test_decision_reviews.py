"""Feedback on single decisions: a false positive or a confirmation, with a reason, on one transaction of an
open case; the label reaches the transaction (what evaluation, experiments and retraining read)."""

import pytest

from audit.models import AuditEvent
from cases.models import Case, CaseEvent, DecisionReview
from delivery.models import OutboxEvent
from scoring.models import Label, Transaction

pytestmark = pytest.mark.django_db


def test_an_analyst_marks_one_decision_a_false_positive_and_the_case_stays_open(client, personas, open_case):
    case = open_case("a-1", n=2)
    first, second = case.links.order_by("id").values_list("transaction_id", flat=True)
    client.force_login(personas["alice"])
    response = client.post(
        f"/cases/{case.reference}/decision-feedback",
        {"transaction": first, "verdict": "false_positive", "reason": "Salary, paid every month"},
    )
    assert response.status_code == 302
    assert Transaction.objects.get(pk=first).label == Label.LEGIT
    assert Transaction.objects.get(pk=second).label == Label.UNKNOWN
    case.refresh_from_db()
    assert case.is_open and case.status != Case.Status.CLOSED
    review = DecisionReview.objects.get()
    assert (review.verdict, review.reason, review.reviewed_by) == (
        "false_positive",
        "Salary, paid every month",
        personas["alice"],
    )
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.DECISION_REVIEWED)
    assert event.data["label"] == "legit" and event.data["transaction_id"] == first
    assert AuditEvent.objects.filter(action="transaction.labelled").exists()
    assert AuditEvent.objects.filter(action="case.decision_reviewed", object_id=case.reference).exists()
    assert OutboxEvent.objects.filter(event_type="case.decision_reviewed").exists()
    api = client.post(
        f"/api/v1/cases/{case.reference}/decision-feedback",
        {"transaction": second, "verdict": "confirmed", "reason": "Card testing pattern"},
        content_type="application/json",
    )
    assert api.status_code == 201 and api.json()["verdict"] == "confirmed"
    assert Transaction.objects.get(pk=second).label == Label.FRAUD


def test_feedback_needs_a_reason_and_a_transaction_of_the_case(client, personas, open_case):
    case = open_case("a-1")
    other = open_case("a-2")
    tx = case.links.get().transaction_id
    client.force_login(personas["alice"])
    url = f"/api/v1/cases/{case.reference}/decision-feedback"
    no_reason = client.post(
        url, {"transaction": tx, "verdict": "confirmed", "reason": " "}, content_type="application/json"
    )
    assert no_reason.status_code == 400
    foreign = other.links.get().transaction_id
    elsewhere = client.post(
        url, {"transaction": foreign, "verdict": "confirmed", "reason": "x"}, content_type="application/json"
    )
    assert elsewhere.status_code == 400 and "not in this case" in str(elsewhere.json())
    assert not DecisionReview.objects.exists()
    assert Transaction.objects.get(pk=foreign).label == Label.UNKNOWN


def test_a_viewer_cannot_and_another_team_does_not_find_the_case(client, personas, open_case):
    case = open_case("a-1")
    tx = case.links.get().transaction_id
    body = {"transaction": tx, "verdict": "confirmed", "reason": "x"}
    client.force_login(personas["victor"])
    assert client.post(f"/cases/{case.reference}/decision-feedback", body).status_code == 403
    client.force_login(personas["bob"])
    assert client.post(f"/cases/{case.reference}/decision-feedback", body).status_code == 404
    api = client.post(f"/api/v1/cases/{case.reference}/decision-feedback", body, content_type="application/json")
    assert api.status_code == 404
    assert Transaction.objects.get(pk=tx).label == Label.UNKNOWN
