import numpy as np
import pytest

from scoring.arms import ARM_CHALLENGER, arm_for, arms_for_accounts, chi_squared
from scoring.models import Experiment
from scoring.services import batch_score
from scoring.services.experiments import experiment_results, experiment_start
from scoring.tests.builders import copy_model_version, transaction


def test_routing_is_stable_and_splits_near_the_ratio():
    accounts = [f"acc-{i}" for i in range(20_000)]
    arms = [arm_for("salt-1", a, 0.2) for a in accounts]
    assert arms == [arm_for("salt-1", a, 0.2) for a in accounts]  # same account, same arm, every time
    assert np.mean(np.array(arms) == ARM_CHALLENGER) == pytest.approx(0.2, abs=0.01)
    other_salt = [arm_for("salt-2", a, 0.2) for a in accounts]
    assert arms != other_salt  # a new experiment reshuffles


def test_chi_squared_separates_different_flag_rates():
    assert chi_squared([[20, 980], [60, 940]])["significant"]
    assert not chi_squared([[20, 980], [21, 979]])["significant"]
    assert chi_squared([[0, 0], [1, 1]])["p_value"] is None


@pytest.mark.django_db
def test_each_decision_records_its_arm_and_model_version(champion, make_user):
    challenger = copy_model_version(champion)
    experiment = experiment_start(challenger=challenger, challenger_share=0.5, name="", actor=make_user("compliance"))
    batch = [transaction(i, account_id=f"acc-{i}") for i in range(200)]
    result = batch_score(transactions=batch)
    expected = arms_for_accounts([t.account_id for t in batch], experiment)
    assert result.arms == expected and 60 < expected.count(ARM_CHALLENGER) < 140
    assert result.model_version == champion
    assert {mv.pk for arm, mv in zip(result.arms, result.model_versions, strict=True) if arm == ARM_CHALLENGER} == {
        challenger.pk
    }
    for txn in batch:
        txn.save()
    from django.utils import timezone

    from scoring.models import Decision

    Decision.objects.bulk_create(result.decisions(batch, created_at=timezone.now()))
    results = experiment_results(experiment=Experiment.objects.get())
    assert results["arms"]["challenger"]["decisions"] == expected.count(ARM_CHALLENGER)
    assert "flag_rate_test" in results


@pytest.mark.django_db
def test_experiment_api_start_results_and_stop(champion, make_user):
    from rest_framework.test import APIClient

    challenger = copy_model_version(champion)
    officer, viewer = APIClient(), APIClient()
    officer.force_authenticate(make_user("compliance"))
    viewer.force_authenticate(make_user("viewer"))
    payload = {"challenger_version": challenger.version, "challenger_share": 0.3}
    assert viewer.post("/api/v1/experiments/", payload, format="json").status_code == 403
    started = officer.post("/api/v1/experiments/", payload, format="json")
    assert started.status_code == 201 and started.json()["challenger"] == challenger.version
    assert officer.post("/api/v1/experiments/", payload, format="json").status_code == 409  # one at a time
    listed = viewer.get("/api/v1/experiments/").json()
    assert listed[0]["is_active"] and set(listed[0]["results"]["arms"]) == {"champion", "challenger"}
    stopped = officer.post(f"/api/v1/experiments/{started.json()['id']}/stop")
    assert stopped.status_code == 200 and not stopped.json()["is_active"]
    challenger.refresh_from_db()
    assert challenger.status == "candidate"


@pytest.mark.django_db
def test_a_prepared_batch_scores_both_arms_without_the_database(champion, make_user, django_assert_num_queries):
    """PreparedBatch.score() reads nothing: batch_prepare read the experiment and the challenger."""
    from scoring.services import batch_prepare

    challenger = copy_model_version(champion)
    experiment_start(challenger=challenger, challenger_share=0.5, name="", actor=make_user("compliance"))
    prepared = batch_prepare(transactions=[transaction(i, account_id=f"acc-{i}") for i in range(200)])
    with django_assert_num_queries(0):
        result = prepared.score()
    assert {mv.pk for mv in result.model_versions} == {champion.pk, challenger.pk}


@pytest.mark.django_db
def test_an_experiment_with_an_unknown_challenger_is_a_400_naming_the_field(champion, make_user):
    from rest_framework.test import APIClient

    officer = APIClient()
    officer.force_authenticate(make_user("compliance"))
    response = officer.post("/api/v1/experiments/", {"challenger_version": 999, "challenger_share": 0.3}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["details"] == {"challenger_version": ["No model version 999."]}
