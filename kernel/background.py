"""Long work away from the request: with a broker, Celery's workers take it; in the embedded default (tasks
in-process), a background thread of this process runs the same Celery task, so no request waits on it.

Only for long jobs that keep their own state in a row (retraining, large exports): the page follows the row,
not the task. Short tasks keep Celery's in-process (eager) behaviour, inside their caller.
"""

import contextvars
import logging
import os
import queue
import threading

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

_jobs: queue.SimpleQueue = queue.SimpleQueue()
_workers: list[threading.Thread] = []
_lock = threading.Condition()
_unfinished = 0
_in_background = contextvars.ContextVar("in_background", default=False)


def long_task_send(task, *args) -> None:
    """Run the Celery `task(*args)` away from the caller. With a broker, `task.delay`. In the embedded default
    (CELERY_TASK_ALWAYS_EAGER), `task.apply` (the task's own body, retries and signals) on one of this
    process's BACKGROUND_WORKERS threads, in a copy of the caller's context (its organisation).
    BACKGROUND_TASKS_INLINE runs it in the caller instead, as any in-process task (the demo's replay, whose
    month must be complete when it ends).

    Call it after the commit of the row the job reads (`transaction.on_commit`): the thread has its own
    database connection and sees committed rows only. The threads are daemons: a process that stops loses
    its running job, which the job's heartbeat and the stale-job sweep deal with, as for a lost worker.
    """
    if not settings.CELERY_TASK_ALWAYS_EAGER or settings.BACKGROUND_TASKS_INLINE:
        task.delay(*args)
        return
    global _unfinished
    with _lock:
        _unfinished += 1
        _start_workers()
    _jobs.put((contextvars.copy_context(), task, args))


def in_background() -> bool:
    """Whether the caller runs on a background thread (an in-process task with no request behind it)."""
    return _in_background.get()


def wait_idle(timeout_s: float = 60) -> bool:
    """Wait until every job sent so far has finished (tests; a process stopping cleanly); False on timeout."""
    with _lock:
        return _lock.wait_for(lambda: _unfinished == 0, timeout=timeout_s)


def every(interval_s: float, func, *, name: str) -> threading.Event:
    """Call `func()` every `interval_s` on a daemon thread of its own, with its own database connection, until
    the returned event is set: the embedded default's stand-in for beat where one job must still run
    periodically (the stale-job sweep)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                func()
            except Exception:
                logger.exception("periodic %s failed", name)
            finally:
                connections.close_all()

    threading.Thread(target=loop, name=f"finobs-{name}", daemon=True).start()
    return stop


def _forget_the_parents_workers() -> None:
    """A forked child (a server process started from a test, a pre-forking server) has none of its parent's
    threads: it starts its own workers on its first job, with a queue and lock of its own."""
    global _jobs, _lock, _unfinished
    _jobs, _lock, _unfinished = queue.SimpleQueue(), threading.Condition(), 0
    _workers.clear()


os.register_at_fork(after_in_child=_forget_the_parents_workers)


def _start_workers() -> None:
    while len(_workers) < settings.BACKGROUND_WORKERS:
        worker = threading.Thread(target=_work, name=f"finobs-background-{len(_workers) + 1}", daemon=True)
        _workers.append(worker)
        worker.start()


def _work() -> None:
    global _unfinished
    while True:
        context, task, args = _jobs.get()
        try:
            context.run(_run, task, args)
        except Exception:
            logger.exception("background task %s%r failed", task.name, args)
        finally:
            with _lock:
                _unfinished -= 1
                _lock.notify_all()


def _run(task, args: tuple) -> None:
    _in_background.set(True)
    try:
        result = task.apply(args=args)
        if result.failed():
            logger.error("background task %s%r failed", task.name, args, exc_info=result.result)
    finally:
        connections.close_all()  # this thread's own connections; the next job opens fresh ones
