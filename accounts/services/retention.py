"""Pruning sign-in state: expired sessions (what Django's clearsessions does, in batches) and django-axes'
records of sign-in attempts older than SIGN_IN_RECORD_RETENTION_DAYS."""

from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from kernel.pruning import delete_in_batches


def sessions_prune() -> int:
    """Delete expired sessions (database sessions, finobs' engine), a batch per statement."""
    return delete_in_batches(Session.objects.filter(expire_date__lt=timezone.now()))


def sign_in_records_prune(*, older_than: timedelta | None = None) -> int:
    """Delete sign-in attempts, failures and access logs older than the retention; a lockout lasts
    AXES_COOLOFF_HOURS, far less, so no lockout in force goes with them."""
    if older_than is None:
        older_than = timedelta(days=settings.SIGN_IN_RECORD_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    return sum(
        delete_in_batches(model.objects.filter(attempt_time__lt=cutoff))
        for model in (AccessAttempt, AccessFailureLog, AccessLog)
    )
