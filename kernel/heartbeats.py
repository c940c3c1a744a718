"""Long jobs' heartbeats: a timestamp column the running job keeps fresh, so a sweep can tell a job whose
worker was lost from one that is merely long (the stale-job sweep, finobs.jobs)."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from kernel.background import in_background

logger = logging.getLogger(__name__)


def heartbeat(model, pk: int) -> None:
    """Record that the job `pk` of `model` is alive now: one UPDATE of one column, outside the job's
    organisation filter (the row is named by its key)."""
    model._base_manager.filter(pk=pk).update(heartbeat_at=timezone.now())


@contextmanager
def heartbeating(model, pk: int, *, every_s: float | None = None) -> Iterator[None]:
    """While the block runs, a thread records the job's heartbeat every JOB_HEARTBEAT_S: for work that
    spends minutes in one call (training a model) and has no chunk boundary to beat at.

    Not for in-process (eager) tasks run by their caller: they run in its transaction, which may hold the
    database's only writer lock (SQLite), and there is no worker to lose. A task on a background thread
    (kernel.background) beats: its process may stop under it.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER and not in_background():
        yield
        return
    every_s = settings.JOB_HEARTBEAT_S if every_s is None else every_s
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every_s):
                try:
                    close_old_connections()
                    heartbeat(model, pk)
                except Exception:  # a database blip: the next beat tries again, within JOB_STALE_AFTER_S
                    logger.warning("heartbeat of %s %s failed", model._meta.label, pk, exc_info=True)
        finally:
            connection.close()  # the thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{model._meta.label_lower}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_s)


def stale_before():
    """Jobs whose last heartbeat (or, never started, whose creation) is older than this are taken to have
    lost their worker: JOB_STALE_AFTER_S ago."""
    from datetime import timedelta

    return timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_S)


def lost_worker_reason() -> str:
    return f"Its worker stopped: no sign of life for {settings.JOB_STALE_AFTER_S:g} s (JOB_STALE_AFTER_S)."


def resumes_exhausted_reason(resumes: int) -> str:
    return (
        f"Its worker was lost {resumes + 1} times; it was resumed {resumes} times (JOB_MAX_RESUMES) "
        "and is not resumed again."
    )
