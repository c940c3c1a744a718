"""The transactional outbox: events written with the data they describe, published after commit."""

from django.db import models
from django.utils import timezone

from organisations.models import OrganisationOwned, organisation_field

# The event every stored decision publishes; its payload holds what the feed's and callbacks' filters read.
DECISION_CREATED = "decision.created"


class OutboxEvent(OrganisationOwned):
    """An event written in the same DB transaction as the data it describes, published after commit."""

    organisation = organisation_field(hot=True)

    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The trace and log context of the work that wrote the event (kernel.tracing.origin), which work done
    # later for the event continues: the explanation of a flagged decision is found by its request's id.
    origin = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["id"], condition=models.Q(published_at__isnull=True), name="outbox_unpublished"),
            # An organisation's feed reads its events after a cursor.
            models.Index(fields=["organisation", "id"], name="outbox_organisation_feed"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type}"
