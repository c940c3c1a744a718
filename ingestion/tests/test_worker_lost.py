"""A real Celery worker SIGKILLed in the middle of a CSV upload: a fresh worker and the stale-job sweep finish
the job, with every row counted once, without waiting for the broker's visibility timeout."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from conftest import child_database_env, default_organisation
from finobs.jobs import stale_jobs_sweep
from ingestion.models import UploadJob
from ingestion.services import upload_create
from scoring.models import Transaction

ROOT = Path(__file__).resolve().parents[2]
ROWS = 20_000
CHUNK_ROWS = 100
STALE_AFTER_S = 30  # the sweep's threshold in this test (120 s by default)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.server, pytest.mark.django_db(transaction=True)]


def big_csv(rows: int) -> bytes:
    lines = ["external_id,account_id,amount,currency,timestamp,merchant_id,merchant_category,country,channel"]
    for n in range(rows):
        day, second = 1 + n % 28, n % 86_400
        lines.append(
            f"lost-{n},acc-{n % 400},{10 + n % 500}.{n % 100:02d},EUR,"
            f"2026-10-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z,"
            f"m-{n % 90},5411,DE,card_present"
        )
    return ("\n".join(lines) + "\n").encode()


def start_worker() -> subprocess.Popen:
    """A worker as the Procfile starts one (prefork pool), in a process group of its own."""
    env = {
        **os.environ,
        **child_database_env(),
        "REDIS_URL": django_settings.REDIS_URL,
        "UPLOAD_CHUNK_ROWS": str(CHUNK_ROWS),
        "DEBUG": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "finobs", "worker", "--concurrency=1", "--without-mingle",
         "--without-gossip", "--loglevel=WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)
    return value


def test_an_upload_whose_worker_was_killed_finishes_with_every_row_counted_once(champion, make_user, settings):
    from finobs.celery import app

    settings.JOB_STALE_AFTER_S = STALE_AFTER_S
    app.control.purge()  # nothing left in the test's Redis database by an earlier run
    worker = start_worker()
    try:
        job = upload_create(
            organisation=default_organisation(), uploaded_by=make_user("analyst"), name="big.csv",
            data=big_csv(ROWS), source="csv-upload",
        )  # fmt: skip
        job_rows = UploadJob.objects.filter(pk=job.pk)
        wait_for(lambda: job_rows.get().processed_rows >= 2_000, 240, "2,000 committed rows")
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool child, as an OOM kill or a lost host
        worker.wait(timeout=10)
        killed_at = time.monotonic()
        at_kill = job_rows.get()
        assert at_kill.status == UploadJob.Status.RUNNING and at_kill.processed_rows < ROWS
        time.sleep(3)
        assert job_rows.get().processed_rows == at_kill.processed_rows  # nobody works on it now

        worker = start_worker()  # a fresh worker, as a supervisor starts one; beat's sweep runs every minute
        resumed = None
        while (current := job_rows.get()).status != UploadJob.Status.DONE:
            assert current.status != UploadJob.Status.FAILED, current.failure
            assert time.monotonic() - killed_at < 120, (
                f"not finished 2 minutes after the kill: {current.processed_rows}"
            )
            if stale_jobs_sweep()["uploads_resumed"]:
                resumed = time.monotonic()
            if resumed is None:
                assert time.monotonic() - killed_at < STALE_AFTER_S + 10, "the sweep did not resume the job"
            time.sleep(1)
        done_at = time.monotonic()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)

    job = job_rows.get()
    print(
        f"\nworker killed at {at_kill.processed_rows}/{ROWS} rows; resumed by the sweep "
        f"{resumed - killed_at:.1f} s after the kill (JOB_STALE_AFTER_S={STALE_AFTER_S}); "
        f"finished {done_at - killed_at:.1f} s after the kill"
    )
    assert job.resumes == 1
    assert (job.processed_rows, job.accepted, job.duplicates, job.invalid) == (ROWS, ROWS, 0, 0)
    assert job.accepted + job.duplicates + job.invalid == job.total_rows == ROWS
    assert Transaction.objects.filter(source="csv-upload").count() == ROWS
