"""The Celery app; in the embedded default tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")

app = Celery("finobs")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_init.connect  # each prefork child (the worker's default pool)
def _keep_one_event_loop(**kwargs) -> None:
    from kernel.async_bridge import use_process_loop

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
