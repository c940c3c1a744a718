"""Retraining as a job: a RetrainRun row first, then a worker claims it, trains with a heartbeat and its
progress, and records the candidate or the failure; the stale-job sweep queues lost requests again and fails
lost trainings. In the embedded default the worker is a background thread of the web process
(kernel.background), so the request that asked returns at once and its page follows the run."""

import logging
import time

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kernel.background import long_task_send
from kernel.heartbeats import heartbeating, lost_worker_reason, stale_before
from scoring.models import RetrainRun

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:retrain"
PROGRESS_EVERY_S = 1.0  # at most one progress UPDATE a second within a stage (a new stage is written at once)


def retrain_run_queue(*, reason: str, requested_by=None) -> RetrainRun:
    """Store a queued retraining in the current organisation and ask a worker for it after commit. Call it
    inside the caller's transaction. With the broker down at commit the row waits, and the stale-job
    sweep queues it once it has waited JOB_STALE_AFTER_S."""
    run = RetrainRun.objects.create(reason=reason[:200], requested_by=requested_by)
    transaction.on_commit(lambda: retrain_run_enqueue(run_id=run.pk), robust=True)
    return run


def retrain_run_enqueue(*, run_id: int) -> None:
    from scoring.tasks import retrain_task

    long_task_send(retrain_task, run_id)


def retrain_run_execute(*, run_id: int) -> RetrainRun | None:
    """Train the candidate of a queued run (model_retrain), in the run's organisation. One conditional
    UPDATE claims it, so a redelivered or repeated task trains nothing twice; a heartbeat thread keeps
    the run alive for the sweep while the model trains."""
    from organisations.context import organisation_context
    from scoring.services.monitoring import model_retrain

    run = RetrainRun.objects.for_all_organisations().select_related("organisation", "requested_by").get(pk=run_id)
    now = timezone.now()
    claimed = RetrainRun.objects.for_all_organisations().filter(pk=run_id, status=RetrainRun.Status.QUEUED)
    if not claimed.update(status=RetrainRun.Status.RUNNING, started_at=now, heartbeat_at=now):
        return run  # running elsewhere, finished, or failed
    runs = RetrainRun.objects.for_all_organisations().filter(pk=run_id, status=RetrainRun.Status.RUNNING)
    try:
        with organisation_context(run.organisation), heartbeating(RetrainRun, run_id):
            candidate = model_retrain(
                actor=run.requested_by or SYSTEM_ACTOR, reason=run.reason, progress=retrain_run_progress(run_id=run_id)
            )
    except Exception as exc:
        logger.exception("retraining %s failed", run_id)
        runs.update(status=RetrainRun.Status.FAILED, finished_at=timezone.now(), failure=f"{type(exc).__name__}: {exc}")
        raise
    runs.update(
        status=RetrainRun.Status.DONE, finished_at=timezone.now(), model_version=candidate, percent=100, stage="done"
    )
    run.refresh_from_db()
    return run


def retrain_run_progress(*, run_id: int):
    """progress(percent, stage) for the training of run `run_id`: one UPDATE of the running row (its heartbeat
    too), at once for a new stage and at most every PROGRESS_EVERY_S within one, so a SQLite writer lock is
    held for one short statement and the page's poll reads something new."""
    last = {"stage": None, "at": 0.0}

    def progress(percent: int, stage: str) -> None:
        now = time.monotonic()
        if stage == last["stage"] and now - last["at"] < PROGRESS_EVERY_S:
            return
        last.update(stage=stage, at=now)
        RetrainRun.objects.for_all_organisations().filter(pk=run_id, status=RetrainRun.Status.RUNNING).update(
            percent=max(0, min(99, int(percent))), stage=stage[:100], heartbeat_at=timezone.now()
        )

    return progress


def retrain_runs_sweep_stale() -> dict[str, int]:
    """Trainings whose worker was lost fail with the reason (training restarts from nothing, so it is asked
    for again rather than repeated unasked); queued runs never started after JOB_STALE_AFTER_S (their task
    lost, the broker down at commit) are queued again. Each run is claimed by one conditional UPDATE."""
    cutoff = stale_before()
    stale = RetrainRun.objects.for_all_organisations().filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    failed = stale.filter(status=RetrainRun.Status.RUNNING).update(
        status=RetrainRun.Status.FAILED,
        finished_at=timezone.now(),
        failure=f"{lost_worker_reason()} Ask for retraining again.",
    )
    requeued = 0
    for run_id in list(stale.filter(status=RetrainRun.Status.QUEUED).values_list("pk", flat=True)):
        if not stale.filter(pk=run_id, status=RetrainRun.Status.QUEUED).update(heartbeat_at=timezone.now()):
            continue
        try:
            retrain_run_enqueue(run_id=run_id)
        except Exception:
            logger.warning("retraining %s: could not queue it again", run_id, exc_info=True)
            continue
        requeued += 1
    return {"retrain_runs_requeued": requeued, "retrain_runs_failed": failed}
