"""Promotion needs compliance/admin, and a second person's approval (four-eyes)."""

import pytest

from audit.models import AuditEvent
from scoring.models import ModelVersion, PromotionRequest
from scoring.tests.builders import copy_model_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidate(champion):
    return copy_model_version(champion)


def _client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_analyst_cannot_promote(candidate, make_user):
    response = _client(make_user("analyst")).post(f"/api/v1/models/{candidate.version}/promote", {}, format="json")
    assert response.status_code == 403
    assert not PromotionRequest.objects.exists()


def test_four_eyes_the_requester_cannot_approve_a_second_officer_can(candidate, champion, make_user):
    alice, bob = make_user("compliance", "alice"), make_user("org_admin", "bob")
    response = _client(alice).post(f"/api/v1/models/{candidate.version}/promote", {"reason": "better"}, format="json")
    assert response.status_code == 202
    request_id = response.json()["id"]
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CANDIDATE  # nothing promoted yet

    same = _client(alice).post(f"/api/v1/models/promotions/{request_id}/approve", {}, format="json")
    assert same.status_code == 403 and same.json()["code"] == "four_eyes"

    approved = _client(bob).post(f"/api/v1/models/promotions/{request_id}/approve", {"note": "ok"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    candidate.refresh_from_db()
    champion.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CHAMPION and champion.status == ModelVersion.Status.RETIRED
    actions = list(AuditEvent.objects.filter(object_type="scoring.ModelVersion").values_list("action", flat=True))
    assert "model.promoted" in actions
    decisions = AuditEvent.objects.filter(object_type="model_promotion", object_id=str(request_id))
    assert list(decisions.order_by("id").values_list("action", flat=True)) == [
        "approval.requested",
        "approval.approved",
    ]

    again = _client(bob).post(f"/api/v1/models/promotions/{request_id}/approve", {}, format="json")
    assert again.status_code == 409


def test_without_four_eyes_a_compliance_officer_promotes_directly(candidate, make_user, settings):
    settings.MODEL_PROMOTION_REQUIRES_APPROVAL = False
    response = _client(make_user("compliance")).post(f"/api/v1/models/{candidate.version}/promote", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "champion"


def test_rollback_restores_the_previous_champion(candidate, champion, make_user, settings):
    settings.MODEL_PROMOTION_REQUIRES_APPROVAL = False
    officer = make_user("compliance")
    _client(officer).post(f"/api/v1/models/{candidate.version}/promote", {}, format="json")
    response = _client(officer).post("/api/v1/models/rollback", {"reason": "alerts doubled"}, format="json")
    assert response.status_code == 200 and response.json()["version"] == champion.version
    assert _client(make_user("viewer")).post("/api/v1/models/rollback", {}, format="json").status_code == 403


def test_leaderboard_lists_versions_with_metrics(champion, make_user):
    response = _client(make_user("viewer")).get("/api/v1/models/")
    assert response.status_code == 200
    assert response.json()[0]["version"] == champion.version
    assert "recall" in response.json()[0]["metrics"]["holdout"]
