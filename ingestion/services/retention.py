"""Pruning intake's history: skipped pull runs, and the file text of finished uploads (their hash, counts
and row errors stay, and the upload's page says the file is gone)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ingestion.models import PullRun, UploadJob
from kernel.pruning import delete_in_batches, update_in_batches


def pull_runs_prune(*, older_than: timedelta | None = None) -> int:
    """Delete skipped pull runs (a source backing off or already running: one per scheduled tick) older than
    PULL_RUN_SKIPPED_RETENTION_DAYS; runs that pulled or failed stay. System work across organisations."""
    if older_than is None:
        older_than = timedelta(days=settings.PULL_RUN_SKIPPED_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    old = PullRun.objects.for_all_organisations().filter(status=PullRun.Status.SKIPPED, started_at__lt=cutoff)
    return delete_in_batches(old)


def upload_contents_prune(*, older_than: timedelta | None = None) -> int:
    """Empty the stored CSV text of uploads finished more than UPLOAD_CONTENT_RETENTION_DAYS ago, marking
    them pruned; the transactions they ingested, their hash, counts and row errors stay."""
    if older_than is None:
        older_than = timedelta(days=settings.UPLOAD_CONTENT_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    old = UploadJob.objects.for_all_organisations().filter(
        status__in=[UploadJob.Status.DONE, UploadJob.Status.FAILED],
        finished_at__lt=cutoff,
        content_pruned_at__isnull=True,
    )
    return update_in_batches(old, content="", content_pruned_at=timezone.now())
