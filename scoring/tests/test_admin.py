import pytest
from django.urls import reverse

from audit.models import AuditEvent
from scoring.models import Decision, Label, Transaction
from scoring.tests.builders import save_with_decision, transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def decisions(champion):
    return [save_with_decision(transaction(n), champion) for n in range(1, 4)]


@pytest.mark.parametrize(
    "model", ["transaction", "decision", "modelversion", "rule", "promotionrequest", "driftreport", "experiment"]
)
def test_changelists_render(admin_client, decisions, model):
    response = admin_client.get(reverse(f"admin:scoring_{model}_changelist"))
    assert response.status_code == 200


def test_model_version_page_shows_hash_and_size_but_not_the_artifact(admin_client, champion):
    response = admin_client.get(reverse("admin:scoring_modelversion_change", args=[champion.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert champion.artifact_sha256 in body
    assert f"{len(bytes(champion.artifact))}" in body
    assert 'name="artifact"' not in body


def test_decisions_and_models_are_read_only(admin_client, decisions, champion):
    assert admin_client.get(reverse("admin:scoring_decision_add")).status_code == 403
    assert admin_client.get(reverse("admin:scoring_modelversion_add")).status_code == 403
    page = admin_client.get(reverse("admin:scoring_decision_change", args=[decisions[0].pk]))
    assert page.status_code == 200 and b'name="score"' not in page.content
    response = admin_client.post(reverse("admin:scoring_decision_delete", args=[decisions[0].pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Decision.objects.count() == 3


def test_transactions_have_no_label_actions_labels_come_from_case_outcomes(admin_client, decisions):
    page = admin_client.get(reverse("admin:scoring_transaction_changelist"))
    assert page.status_code == 200 and b"label_fraud" not in page.content and b'name="action"' not in page.content
    ids = [d.transaction_id for d in decisions[:2]]
    admin_client.post(
        reverse("admin:scoring_transaction_changelist"), {"action": "label_fraud", "_selected_action": ids}
    )
    assert not Transaction.objects.filter(label=Label.FRAUD).exists()
    assert not AuditEvent.objects.filter(action="transaction.labelled").exists()


def test_decision_filter_by_model_version(admin_client, decisions, champion):
    url = reverse("admin:scoring_decision_changelist")
    response = admin_client.get(url, {"model_version": champion.pk})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 3


def test_promotion_through_admin_actions_needs_two_people(client, champion, make_user):
    from scoring.models import ModelVersion, PromotionRequest
    from scoring.tests.builders import copy_model_version

    candidate = copy_model_version(champion)
    alice, bob = make_user("compliance", "alice"), make_user("org_admin", "bob")
    for user in (alice, bob):
        user.is_staff = True
        user.save()
    client.force_login(alice)
    client.post(
        reverse("admin:scoring_modelversion_changelist"), {"action": "promote", "_selected_action": [candidate.pk]}
    )
    request = PromotionRequest.objects.get(model_version=candidate)
    url = reverse("admin:scoring_promotionrequest_changelist")
    client.post(url, {"action": "approve_selected", "_selected_action": [request.pk]})  # the requester: refused
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CANDIDATE
    client.force_login(bob)
    client.post(url, {"action": "approve_selected", "_selected_action": [request.pk]})
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CHAMPION
