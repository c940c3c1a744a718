"""The abstract four-eyes request each kind of approval is a concrete model of."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from organisations.models import OrganisationOwned


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn by the requester"
    SUPERSEDED = "superseded", "Superseded"


class FourEyesRequest(OrganisationOwned):
    """Something one person asks for and a second person decides; the database refuses one person doing both.

    A concrete kind adds its subject (a foreign key) and what it needs to apply the decision, declares
    `one_pending_per(<subject>)` among its constraints, and registers an ApprovalKind (approvals.kinds)
    naming who may decide it and what approving and rejecting do.
    """

    Status = ApprovalStatus

    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="", help_text="What the decider said; required to reject.")

    class Meta:
        abstract = True
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="%(app_label)s_%(class)s_decider_is_not_requester",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True)
                | Q(
                    status__in=["approved", "rejected"],
                    decided_by__isnull=False,
                    decided_at__isnull=False,
                )
                | Q(status__in=["withdrawn", "superseded"], decided_by__isnull=True, decided_at__isnull=False),
                name="%(app_label)s_%(class)s_decision_is_complete",
            ),
        ]

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


def one_pending_per(subject: str, *, name: str) -> models.UniqueConstraint:
    """The constraint that keeps at most one pending request per `subject` (a field of the concrete kind)."""
    return models.UniqueConstraint(fields=[subject], condition=Q(status=ApprovalStatus.PENDING), name=name)
