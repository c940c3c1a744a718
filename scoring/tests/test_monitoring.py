"""Drift reports on stored decisions, and retraining on stored traffic (through the API and the services)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from scoring.features import FEATURE_NAMES
from scoring.generator import generate, records_to_transactions
from scoring.models import Decision, DriftReport, Label, ModelVersion, RetrainRun
from scoring.services import batch_score
from scoring.services.monitoring import drift_check, model_retrain
from scoring.tests.builders import store_history

pytestmark = pytest.mark.django_db


def store_scored(transactions, *, shuffle=False):
    """Store transactions with the champion's decisions, as ingestion does. Shuffled, the latest
    decisions (by id) are a sample of the whole period rather than its last day."""
    scored = batch_score(transactions=transactions)
    if shuffle:
        order = np.random.default_rng(0).permutation(len(transactions))
        decisions = scored.decisions(transactions, created_at=timezone.now())
        transactions = [transactions[i] for i in order]
        store_history(transactions)
        Decision.objects.bulk_create([decisions[i] for i in order])
        return
    store_history(transactions)
    Decision.objects.bulk_create(scored.decisions(transactions, created_at=timezone.now()))


def recent_traffic(seed, n_accounts=150, days=6):
    start = (timezone.now() - timedelta(days=days + 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    generated = generate(n_accounts=n_accounts, days=days, seed=seed, start=start)
    return records_to_transactions(generated.records, source="tests"), generated


def test_traffic_like_training_does_not_drift(champion, settings):
    settings.DRIFT_WINDOW = 500
    transactions, _ = recent_traffic(seed=101, n_accounts=300, days=14)
    store_scored(transactions, shuffle=True)
    report = drift_check()
    assert report.window_size == 500 and not report.is_drifted and not report.retraining_started
    assert set(report.results) == {*FEATURE_NAMES, "score"}


def test_shifted_traffic_drifts_and_starts_retraining(champion, settings, django_capture_on_commit_callbacks):
    settings.DRIFT_WINDOW = 500
    settings.RETRAIN_MIN_ROWS = 100  # the retraining the report starts uses the stored rows (fast)
    transactions, _ = recent_traffic(seed=102, n_accounts=300, days=14)
    for txn in transactions:
        txn.amount *= 40  # every account suddenly spends 40x more, online, abroad
        txn.channel, txn.country = "online", "VN"
    store_scored(transactions, shuffle=True)
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    # The retraining runs in this test's transaction, where it can read the report it follows; the background
    # thread it gets in the embedded default is test_retrain_page's.
    settings.BACKGROUND_TASKS_INLINE = True
    with django_capture_on_commit_callbacks(execute=eager) as callbacks:
        report = drift_check()
    assert report.is_drifted and report.retraining_started
    assert {"log_abs_amount_eur", "country_risk", "channel_risk"} <= set(report.drifted_features)
    assert AuditEvent.objects.filter(action="model.drift_checked").exists()
    assert callbacks  # retraining is enqueued after the report commits
    if eager:
        assert ModelVersion.objects.filter(status=ModelVersion.Status.CANDIDATE).count() == 1


def test_a_lasting_drift_starts_one_retraining_per_cooldown(champion, settings, django_capture_on_commit_callbacks):
    settings.DRIFT_WINDOW = 500
    settings.DRIFT_RETRAIN_COOLDOWN_H = 72
    transactions, _ = recent_traffic(seed=104, n_accounts=300, days=14)
    for txn in transactions:
        txn.amount *= 40
        txn.channel, txn.country = "online", "VN"
    store_scored(transactions, shuffle=True)
    with django_capture_on_commit_callbacks(execute=False):
        first = drift_check()
        second = drift_check()
    assert first.is_drifted and first.retraining_started
    assert second.is_drifted and not second.retraining_started  # the first one's run is within the cooldown
    assert RetrainRun.objects.count() == 1

    RetrainRun.objects.update(status=RetrainRun.Status.FAILED)  # a failed run does not hold the next one back
    with django_capture_on_commit_callbacks(execute=False):
        third = drift_check()
    assert third.retraining_started and RetrainRun.objects.count() == 2

    RetrainRun.objects.update(created_at=timezone.now() - timedelta(hours=73), status=RetrainRun.Status.DONE)
    with django_capture_on_commit_callbacks(execute=False):
        assert drift_check().retraining_started  # past the cooldown, a drift that lasts asks again


def test_retraining_on_stored_traffic_registers_a_candidate_compared_with_the_champion(champion, settings):
    settings.RETRAIN_MIN_ROWS = 500
    transactions, generated = recent_traffic(seed=103)
    for txn, is_fraud in zip(transactions, generated.labels, strict=True):
        txn.label = Label.FRAUD if is_fraud else Label.LEGIT
    store_scored(transactions)
    candidate = model_retrain(actor="tests", reason="test", n_estimators=20)
    assert candidate.status == ModelVersion.Status.CANDIDATE
    assert candidate.params["training_data"]["source"] == "stored transactions"
    comparison = candidate.metrics["comparison"]
    assert {"candidate", "champion"} <= set(comparison)
    assert {"precision", "recall", "alert_rate"} <= set(comparison["candidate"])
    assert AuditEvent.objects.filter(action="model.retrained", object_id=str(candidate.pk)).exists()
    champion.refresh_from_db()
    assert champion.status == ModelVersion.Status.CHAMPION  # never auto-promoted by default


def test_drift_and_retrain_api(champion, make_user, settings, django_capture_on_commit_callbacks):
    client = APIClient()
    client.force_authenticate(make_user("viewer"))
    assert client.get("/api/v1/drift/").json()["status"] == "none"
    transactions, _ = recent_traffic(seed=104, n_accounts=60, days=3)
    store_scored(transactions)
    drift_check()
    body = client.get("/api/v1/drift/").json()
    assert body["status"] in ("stable", "drifted") and body["latest"]["version"] == champion.version
    assert client.post("/api/v1/models/retrain").status_code == 403
    officer = APIClient()
    officer.force_authenticate(make_user("compliance"))
    settings.RETRAIN_MIN_ROWS = 50
    settings.BACKGROUND_TASKS_INLINE = True  # followed to its end in this test's transaction, as above
    eager = settings.CELERY_TASK_ALWAYS_EAGER
    with django_capture_on_commit_callbacks(execute=eager) as callbacks:
        response = officer.post("/api/v1/models/retrain")
    assert response.status_code == 202 and callbacks
    run = RetrainRun.objects.get(pk=response.json()["retrain_run"])
    if eager:
        candidate = ModelVersion.objects.get(status=ModelVersion.Status.CANDIDATE)
        run.refresh_from_db()
        assert run.status == RetrainRun.Status.DONE and run.model_version == candidate and run.finished_at
    assert DriftReport.objects.count() == 1
    assert np.isfinite(body["latest"]["results"]["score"]["psi"])


def test_retraining_has_a_budget_of_its_own_per_person(make_user, settings, django_capture_on_commit_callbacks):
    settings.USER_EXPENSIVE_RATES = {**settings.USER_EXPENSIVE_RATES, "retrain": "2/hour"}
    officer, other = APIClient(), APIClient()
    officer.force_authenticate(make_user("compliance", "officer"))
    other.force_authenticate(make_user("compliance", "other-officer"))
    with django_capture_on_commit_callbacks(execute=False):  # the training runs themselves are not this test's
        statuses = [officer.post("/api/v1/models/retrain").status_code for _ in range(2)]
        refused = officer.post("/api/v1/models/retrain")
        assert other.post("/api/v1/models/retrain").status_code == 202
    assert statuses == [202, 202]
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    retry_after = int(refused["Retry-After"])
    assert 0 < retry_after <= 1800 and refused.json()["details"] == {"retry_after_s": retry_after}
    assert AuditEvent.objects.filter(action="model.retrain_requested").count() == 3  # the refused one asked nothing
    assert officer.get("/api/v1/drift/").status_code == 200  # the rest of the API is not this budget
