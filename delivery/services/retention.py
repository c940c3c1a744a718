"""Pruning delivered callbacks: a delivery and its attempts are kept DELIVERY_RETENTION_DAYS after it was
delivered (pending, retrying and dead ones stay: the dead-letter queue is the operator's to clear)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from delivery.models import Delivery
from kernel.pruning import delete_in_batches


def deliveries_prune(*, older_than: timedelta | None = None) -> int:
    """Delete deliveries delivered before the retention window, with their attempts, in batches; system work
    across organisations. Their outbox events then go with the outbox's own pruning."""
    if older_than is None:
        older_than = timedelta(days=settings.DELIVERY_RETENTION_DAYS)
    cutoff = timezone.now() - older_than
    old = Delivery.objects.for_all_organisations().filter(status=Delivery.Status.DELIVERED, delivered_at__lt=cutoff)
    return delete_in_batches(old)
