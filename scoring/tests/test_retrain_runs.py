"""A retraining is a run: claimed once, kept alive by its heartbeat while the model trains, done with its
candidate or failed with the reason."""

import time

import pytest

from scoring.models import RetrainRun
from scoring.services.retraining import retrain_run_execute

pytestmark = pytest.mark.django_db(transaction=True)


def training_that_notes_heartbeats(run: RetrainRun, beats: list):
    """A training of half a second that notes the run's heartbeat every tenth of one."""

    def training(**kwargs):
        for _ in range(5):
            time.sleep(0.1)
            beats.append(RetrainRun.objects.get(pk=run.pk).heartbeat_at)
        return None

    return training


def test_a_training_beats_while_it_runs_and_is_claimed_once(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in a worker: the heartbeat thread runs
    settings.JOB_HEARTBEAT_S = 0.1
    run = RetrainRun.objects.create(reason="test")
    beats = []
    monkeypatch.setattr("scoring.services.monitoring.model_retrain", training_that_notes_heartbeats(run, beats))
    assert retrain_run_execute(run_id=run.pk).status == RetrainRun.Status.DONE
    assert len(set(beats)) >= 3  # the heartbeat moved while the model trained
    called = []
    monkeypatch.setattr("scoring.services.monitoring.model_retrain", lambda **kwargs: called.append(1))
    retrain_run_execute(run_id=run.pk)  # redelivered: already done, nothing trains
    assert called == []


def test_a_failed_training_says_why(monkeypatch):
    run = RetrainRun.objects.create(reason="test")

    def training(**kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr("scoring.services.monitoring.model_retrain", training)
    with pytest.raises(MemoryError):
        retrain_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RetrainRun.Status.FAILED and run.failure == "MemoryError: out of memory" and run.finished_at


def test_a_training_on_the_embedded_background_thread_beats_too(settings, monkeypatch):
    """Embedded, the training runs on the web process's background thread, which a stopping process loses:
    its heartbeat lets the stale-job sweep fail it, as for a lost worker."""
    from kernel.background import long_task_send, wait_idle
    from scoring.tasks import retrain_task

    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default, also on the broker's run
    settings.JOB_HEARTBEAT_S = 0.1
    run = RetrainRun.objects.create(reason="test")
    beats = []
    monkeypatch.setattr("scoring.services.monitoring.model_retrain", training_that_notes_heartbeats(run, beats))
    long_task_send(retrain_task, run.pk)
    assert wait_idle()
    run.refresh_from_db()
    assert run.status == RetrainRun.Status.DONE and run.percent == 100
    assert len(set(beats)) >= 3
