"""The stale-job sweep: jobs whose worker was lost are resumed or failed with the reason; live ones are left
alone; a job is claimed by one sweep only; a request whose task was never queued is queued again."""

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from conftest import default_organisation, wait_until
from evidence.models import ExportRecord
from evidence.services import export_run
from finobs.jobs import stale_jobs_sweep
from ingestion.models import PullRun, PullSource, UploadJob
from ingestion.services import upload_create
from scoring.models import RetrainRun
from scoring.services.monitoring import model_retrain_request

pytestmark = pytest.mark.django_db

CSV = b"external_id,account_id,amount,currency,timestamp\nx-1,acc-1,10.00,EUR,2026-11-20T10:00:00Z\n"


@pytest.fixture
def queued(monkeypatch):
    """What the sweep queued, by kind, instead of a broker (the tasks themselves are other tests')."""
    sent: dict[str, list] = {"uploads": [], "pulls": [], "retrains": [], "exports": []}
    monkeypatch.setattr("ingestion.services.uploads.upload_enqueue", lambda *, job_id: sent["uploads"].append(job_id))
    monkeypatch.setattr(
        "ingestion.tasks.pull_source_run_task.delay",
        lambda source_id, resumes=0: sent["pulls"].append((source_id, resumes)),
    )
    monkeypatch.setattr(
        "scoring.services.retraining.retrain_run_enqueue", lambda *, run_id: sent["retrains"].append(run_id)
    )
    monkeypatch.setattr(
        "evidence.services.records.export_enqueue", lambda *, record_id: sent["exports"].append(record_id)
    )
    return sent


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def make_upload(user, *, status=UploadJob.Status.RUNNING, heartbeat_s=None, started=True, resumes=0) -> UploadJob:
    job = UploadJob.objects.create(
        uploaded_by=user, source="csv-upload", original_name="a.csv", content=CSV.decode(), size_bytes=len(CSV),
        sha256=hashlib.sha256(CSV).hexdigest(), total_rows=1, status=status, resumes=resumes,
        started_at=ago(3600) if started else None, heartbeat_at=None if heartbeat_s is None else ago(heartbeat_s),
    )  # fmt: skip
    UploadJob.objects.filter(pk=job.pk).update(created_at=ago(3600))
    return job


class TestUploads:
    def test_a_stale_running_upload_is_resumed_once_and_counted(self, make_user, queued):
        job = make_upload(make_user("analyst"), heartbeat_s=600)
        assert stale_jobs_sweep()["uploads_resumed"] == 1
        assert stale_jobs_sweep()["uploads_resumed"] == 0  # claimed: its heartbeat moved to the sweep's time
        job.refresh_from_db()
        assert queued["uploads"] == [job.pk]
        assert job.resumes == 1 and job.status == UploadJob.Status.RUNNING
        assert job.heartbeat_at > ago(5)

    def test_a_live_upload_is_left_alone(self, make_user, queued, settings):
        job = make_upload(make_user("analyst"), heartbeat_s=settings.JOB_STALE_AFTER_S - 10)
        stale_jobs_sweep()
        job.refresh_from_db()
        assert queued["uploads"] == [] and job.resumes == 0 and job.status == UploadJob.Status.RUNNING

    def test_an_upload_resumed_too_often_fails_and_says_so(self, make_user, queued, settings):
        job = make_upload(make_user("analyst"), heartbeat_s=600, resumes=settings.JOB_MAX_RESUMES)
        assert stale_jobs_sweep()["uploads_failed"] == 1
        job.refresh_from_db()
        assert queued["uploads"] == [] and job.status == UploadJob.Status.FAILED and job.finished_at
        assert "worker stopped" in job.failure and "not resumed again" in job.failure
        client = Client()  # the reason is on the job's page
        client.force_login(job.uploaded_by)
        assert "not resumed again" in client.get(f"/ingest/uploads/{job.pk}/").content.decode()

    def test_a_finished_upload_is_never_touched(self, make_user, queued):
        make_upload(make_user("analyst"), status=UploadJob.Status.DONE, heartbeat_s=6000)
        assert stale_jobs_sweep()["uploads_resumed"] == 0 and queued["uploads"] == []

    def test_an_upload_whose_task_was_lost_at_commit_is_queued_by_the_sweep(
        self, make_user, monkeypatch, queued, django_capture_on_commit_callbacks, settings
    ):
        def broker_down(*, job_id):
            raise ConnectionError("Redis is down")

        monkeypatch.setattr("ingestion.services.uploads.upload_enqueue", broker_down)
        with django_capture_on_commit_callbacks(execute=True):  # robust: the page does not fail
            job = upload_create(
                organisation=default_organisation(), uploaded_by=make_user("analyst"), name="a.csv", data=CSV,
                source="csv-upload",
            )  # fmt: skip
        job.refresh_from_db()
        assert job.status == UploadJob.Status.QUEUED
        stale_jobs_sweep()
        assert queued["uploads"] == []  # within its grace it may still be waiting in the queue
        monkeypatch.setattr(
            "ingestion.services.uploads.upload_enqueue", lambda *, job_id: queued["uploads"].append(job_id)
        )
        UploadJob.objects.filter(pk=job.pk).update(created_at=ago(settings.JOB_STALE_AFTER_S + 1))
        stale_jobs_sweep()
        job.refresh_from_db()
        assert queued["uploads"] == [job.pk] and job.resumes == 0  # it never started: not a resume


@pytest.fixture
def source():
    return PullSource.objects.create(name="feed", source="feed", url="https://feed.example/tx", running_since=ago(600))


def make_run(source, *, heartbeat_s, resumes=0) -> PullRun:
    return PullRun.objects.create(
        pull_source=source, started_at=source.running_since, heartbeat_at=ago(heartbeat_s), resumes=resumes
    )


class TestPullRuns:
    def test_a_stale_run_fails_with_the_reason_and_a_new_run_continues(self, source, queued):
        run = make_run(source, heartbeat_s=600)
        assert stale_jobs_sweep()["pull_runs_resumed"] == 1
        run.refresh_from_db()
        source.refresh_from_db()
        assert run.status == PullRun.Status.FAILED and "continues from the stored cursor" in run.error
        assert source.running_since is None  # released, so the new run can claim it
        assert source.consecutive_failures == 0  # a lost worker is not the source's fault
        assert queued["pulls"] == [(source.pk, 1)]
        assert stale_jobs_sweep()["pull_runs_resumed"] == 0

    def test_a_live_run_is_left_alone(self, source, queued):
        run = make_run(source, heartbeat_s=10)
        stale_jobs_sweep()
        run.refresh_from_db()
        assert run.status == PullRun.Status.RUNNING and queued["pulls"] == []

    def test_too_many_lost_runs_in_a_row_fail_and_back_the_source_off(self, source, queued, settings):
        run = make_run(source, heartbeat_s=600, resumes=settings.JOB_MAX_RESUMES)
        assert stale_jobs_sweep()["pull_runs_failed"] == 1
        run.refresh_from_db()
        source.refresh_from_db()
        assert run.status == PullRun.Status.FAILED and "not resumed again" in run.error
        assert queued["pulls"] == [] and source.consecutive_failures == 1 and source.backoff_until > timezone.now()


class TestRetraining:
    def test_a_lost_training_fails_with_the_reason_and_is_not_repeated(self, queued):
        run = RetrainRun.objects.create(reason="test", status=RetrainRun.Status.RUNNING, heartbeat_at=ago(600))
        live = RetrainRun.objects.create(reason="test", status=RetrainRun.Status.RUNNING, heartbeat_at=ago(5))
        assert stale_jobs_sweep()["retrain_runs_failed"] == 1
        run.refresh_from_db()
        live.refresh_from_db()
        assert run.status == RetrainRun.Status.FAILED and "Ask for retraining again" in run.failure
        assert live.status == RetrainRun.Status.RUNNING and queued["retrains"] == []

    def test_a_request_whose_task_was_lost_is_queued_again(self, make_user, queued, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False):
            run = model_retrain_request(actor=make_user("compliance"), reason="test")
        stale_jobs_sweep()
        assert queued["retrains"] == []
        RetrainRun.objects.filter(pk=run.pk).update(created_at=ago(600))
        assert stale_jobs_sweep()["retrain_runs_requeued"] == 1
        assert stale_jobs_sweep()["retrain_runs_requeued"] == 0
        assert queued["retrains"] == [run.pk]


def make_export(*, status=ExportRecord.Status.RUNNING, heartbeat_s=None) -> ExportRecord:
    record = ExportRecord.objects.create(
        kind=ExportRecord.Kind.AUDIT, subject="a year", actor="alice", total_items=50_000, status=status,
        started_at=None if status == ExportRecord.Status.QUEUED else ago(3600),
        heartbeat_at=None if heartbeat_s is None else ago(heartbeat_s),
    )  # fmt: skip
    ExportRecord.objects.filter(pk=record.pk).update(created_at=ago(3600))
    return record


class TestExports:
    def test_a_lost_export_fails_with_the_reason_and_an_audit_event(self, queued):
        lost = make_export(heartbeat_s=600)
        live = make_export(heartbeat_s=5)
        assert stale_jobs_sweep()["exports_failed"] == 1
        assert stale_jobs_sweep()["exports_failed"] == 0
        lost.refresh_from_db()
        live.refresh_from_db()
        assert lost.status == ExportRecord.Status.FAILED and lost.finished_at is not None
        assert "no sign of life" in lost.failure and "Ask for the export again" in lost.failure
        assert live.status == ExportRecord.Status.RUNNING and queued["exports"] == []
        failed = AuditEvent.objects.get(action="export.failed")
        assert failed.object_id == str(lost.pk) and failed.payload["reason"] == "worker_lost"

    def test_an_export_whose_task_was_lost_is_queued_again_once(self, queued):
        record = make_export(status=ExportRecord.Status.QUEUED)
        fresh = make_export(status=ExportRecord.Status.QUEUED)
        ExportRecord.objects.filter(pk=fresh.pk).update(created_at=ago(5))
        assert stale_jobs_sweep()["exports_requeued"] == 1
        assert stale_jobs_sweep()["exports_requeued"] == 0  # claimed: its heartbeat moved to the sweep's time
        assert queued["exports"] == [record.pk]

    def test_a_task_delivered_again_leaves_a_running_export_to_the_sweep(self):
        record = make_export(heartbeat_s=600)
        assert export_run(record_id=record.pk).status == ExportRecord.Status.RUNNING
        record.refresh_from_db()
        assert record.status == ExportRecord.Status.RUNNING and record.file_name == ""


def test_the_sweep_sees_every_organisation(organisation, make_user, queued):
    from organisations.context import organisation_context

    with organisation_context(organisation):
        job = make_upload(make_user("analyst", "harbour-analyst", organisation=organisation), heartbeat_s=600)
    stale_jobs_sweep()  # called from the default organisation's context: it runs as system work all the same
    assert queued["uploads"] == [job.pk]


@pytest.mark.django_db(transaction=True)
def test_the_embedded_server_sweeps_lost_jobs_on_a_thread_of_its_own(settings):
    """`serve --demo` (no broker, no beat) runs the sweep itself: a training its previous process lost fails."""
    from finobs.management.commands.serve import sweep_lost_jobs_in_process

    settings.JOB_SWEEP_INTERVAL_S = 0.05
    run = RetrainRun.objects.create(reason="test", status=RetrainRun.Status.RUNNING, heartbeat_at=ago(600))
    stop = sweep_lost_jobs_in_process()
    try:
        runs = RetrainRun.objects.for_all_organisations().filter(pk=run.pk, status=RetrainRun.Status.FAILED)
        assert wait_until(runs.exists, timeout_s=30)
    finally:
        stop.set()
