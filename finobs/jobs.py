"""The stale-job sweep: long jobs (uploads, pull runs, retraining, evidence exports) whose worker was lost are
found by their heartbeat (kernel.heartbeats) and resumed, queued again or failed, without waiting for the
broker to hand their task out again. Each app sweeps its own kind; the wiring runs them together, so no app
imports another's jobs."""

from evidence.services.records import exports_sweep_stale
from ingestion.services.pulls import pull_runs_sweep_stale
from ingestion.services.uploads import uploads_sweep_stale
from organisations.context import system_context
from scoring.services.retraining import retrain_runs_sweep_stale


def stale_jobs_sweep() -> dict[str, int]:
    """One pass over every organisation's unfinished jobs (beat, every JOB_SWEEP_INTERVAL_S); returns what
    it did by kind. Safe to run from several processes at once: each job is claimed by a conditional UPDATE."""
    with system_context():
        return {
            **uploads_sweep_stale(),
            **pull_runs_sweep_stale(),
            **retrain_runs_sweep_stale(),
            **exports_sweep_stale(),
        }
