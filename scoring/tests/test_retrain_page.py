"""Retraining from the dashboard leaves the request: the run trains in the background (a worker with a broker,
the web process's background thread in the embedded default), and its page follows the progress live to the
candidate."""

import threading

import pytest
from celery.signals import task_prerun

from conftest import wait_until
from scoring.models import ModelVersion, RetrainRun
from scoring.services.retraining import retrain_run_progress
from scoring.tests.test_monitoring import recent_traffic, store_scored

pytestmark = pytest.mark.django_db


def progress_fragment(client, run):
    return client.get(f"/models/retrain/{run.pk}/?fragment=progress").content.decode()


@pytest.mark.django_db(transaction=True)
def test_retraining_from_the_dashboard_returns_before_it_trains(
    client, make_user, champion, settings, celery_worker_if_queued
):
    settings.RETRAIN_MIN_ROWS = 50
    transactions, _ = recent_traffic(seed=105, n_accounts=60, days=3)
    store_scored(transactions)
    officer = make_user("compliance")
    client.force_login(officer)
    assert 'data-testid="retrain-form"' in client.get("/").content.decode()

    # The training task waits at Celery's own start signal until the test lets it go: whatever the machine's
    # speed, the request must have answered while the run was still waiting.
    release, started = threading.Event(), threading.Event()

    def hold(task=None, **kwargs):
        if task is not None and task.name == "scoring.tasks.retrain_task":
            started.set()
            release.wait(60)

    task_prerun.connect(hold, weak=False)
    try:
        response = client.post("/models/retrain")
        run = RetrainRun.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/models/retrain/{run.pk}/"
        assert wait_until(started.is_set)  # the task was handed to its worker, and the request is back
        run.refresh_from_db()
        assert run.status == RetrainRun.Status.QUEUED and run.model_version is None
        page = client.get(response["Location"]).content.decode()
        assert "<progress" in page and 'hx-trigger="every 1s"' in page and "waiting for a worker" in page
    finally:
        release.set()
        task_prerun.disconnect(hold)

    assert wait_until(lambda: RetrainRun.objects.get(pk=run.pk).is_finished, timeout_s=120)
    run.refresh_from_db()
    candidate = ModelVersion.objects.get(status=ModelVersion.Status.CANDIDATE)
    assert run.status == RetrainRun.Status.DONE and run.percent == 100 and run.model_version == candidate
    done = progress_fragment(client, run)
    assert 'value="100"' in done and 'data-testid="candidate"' in done and f"v{candidate.version}" in done
    assert "hx-get" not in done  # finished: the page stops asking


def test_the_progress_fragment_shows_the_bar_while_the_model_trains(client, make_user):
    run = RetrainRun.objects.create(reason="test", status=RetrainRun.Status.RUNNING)
    retrain_run_progress(run_id=run.pk)(40, "training the isolation forest and detectors on 4,000 rows")
    client.force_login(make_user("viewer"))
    fragment = progress_fragment(client, run)
    assert '<progress max="100" value="40"' in fragment and "training the isolation forest" in fragment
    assert f'hx-get="/models/retrain/{run.pk}/?fragment=progress"' in fragment
    assert 'data-testid="candidate"' not in fragment


def test_progress_stays_below_100_until_the_run_is_done(make_user):
    run = RetrainRun.objects.create(reason="test", status=RetrainRun.Status.RUNNING)
    retrain_run_progress(run_id=run.pk)(250, "registering the candidate")
    run.refresh_from_db()
    assert (run.percent, run.stage, run.status) == (99, "registering the candidate", RetrainRun.Status.RUNNING)
    assert run.heartbeat_at is not None


def test_only_people_who_may_retrain_ask_for_it(client, make_user):
    client.force_login(make_user("analyst"))
    assert client.post("/models/retrain").status_code == 403
    assert 'data-testid="retrain-form"' not in client.get("/").content.decode()
    assert not RetrainRun.objects.exists()


def test_another_organisations_run_is_not_found(client, make_user, organisation):
    from organisations.context import organisation_context

    with organisation_context(organisation):
        run = RetrainRun.objects.create(reason="theirs")
    client.force_login(make_user("compliance"))
    assert client.get(f"/models/retrain/{run.pk}/").status_code == 404
