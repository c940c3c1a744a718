"""The Celery app; in the embedded default tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

import functools
import os
import time

from celery import Celery, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")

app = Celery("finobs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# When a worker last sent a heartbeat (Unix time), in Redis: what readiness reads (finobs.health).
WORKER_HEARTBEAT_KEY = "finobs:worker-heartbeat"


class TaskLogContext(bootsteps.Step):
    """In a worker, each task's log lines carry the context of whatever queued it (the request id, user and
    API key, sent in the message's headers by django-structlog's publishing receivers, which its app
    connects in every process), plus the task's id and name, and one line for its outcome and duration."""

    def __init__(self, parent, **kwargs):
        from celery.signals import task_failure, task_prerun, task_rejected, task_retry, task_revoked, task_success
        from django_structlog.celery.receivers import CeleryReceiver

        super().__init__(parent, **kwargs)
        self.receiver = CeleryReceiver()  # held here: Celery's signals keep weak references
        task_prerun.connect(self.receiver.receiver_task_prerun)
        task_retry.connect(self.receiver.receiver_task_retry)
        task_success.connect(self.receiver.receiver_task_success)
        task_failure.connect(self.receiver.receiver_task_failure)
        task_revoked.connect(self.receiver.receiver_task_revoked)
        task_rejected.connect(self.receiver.receiver_task_rejected)


app.steps["worker"].add(TaskLogContext)


@signals.setup_logging.connect
def _log_as_the_web_process_does(**kwargs) -> None:
    """Workers and beat log through settings.LOGGING (kernel.logs: JSON lines in production), not Celery's
    own format: Celery leaves logging alone when this signal has a receiver."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@signals.worker_process_init.connect  # each prefork child (the worker's default pool)
def _keep_one_event_loop(**kwargs) -> None:
    from kernel.async_bridge import use_process_loop
    from kernel.switches import device_off

    if not device_off("PROCESS_LOOP"):  # FINOBS_NO_PROCESS_LOOP=1: async_to_sync for every call, as elsewhere
        use_process_loop()


@signals.task_prerun.connect
def _close_old_connections(task=None, **kwargs) -> None:
    """Before a worker's task, what Django does before a request: drop connections that are broken or past
    CONN_MAX_AGE, and health-check the others on first use (CONN_HEALTH_CHECKS). Kept connections are
    what CELERY_DB_REUSE_MAX buys. Never for an in-process (eager) task: it runs inside the caller's
    transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_init.connect
def _import_shap_before_forking(**kwargs) -> None:
    """Workers explain flagged decisions: import shap once in the worker's main process, before its pool
    forks, rather than in each child on its first explanation (~6 s of CPU there, measured, while the
    child's next tasks -- the outbox relay -- waited). Not in worker_process_init: Celery gives a child
    4 s to report ready."""
    import shap  # noqa: F401


@functools.cache
def _redis():
    import redis
    from django.conf import settings

    # Short timeouts: the heartbeat runs on the worker's event loop, which must not wait on a lost Redis.
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


@signals.heartbeat_sent.connect
def _record_heartbeat(**kwargs) -> None:
    """Note in Redis that a worker is up and connected: its main process sends a heartbeat every 2 s,
    whether or not its pool is busy, and independently of beat. Readiness reports the latest one."""
    _redis().set(WORKER_HEARTBEAT_KEY, time.time())


@signals.worker_process_shutdown.connect  # a prefork child leaving (replaced, or the worker stopping)
def _mark_metrics_process_dead(pid, **kwargs) -> None:
    """prometheus_client's multiprocess bookkeeping for a child that exits: its live gauges go with it,
    its counters and histograms stay in the directory, so the sums /metrics shows never go back."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
