"""Duplicate suppression: a flagged transaction on an account whose case was recently closed as a false positive
waits in a lightweight review instead of opening a new case."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from cases.models.case import Case, Severity
from organisations.models import OrganisationOwned


class SuppressionRule(OrganisationOwned):
    """The organisation's rule (one row, edited in admin); without a row, CASES_SUPPRESSION_DAYS applies."""

    is_active = models.BooleanField(default=True)
    window_days = models.PositiveSmallIntegerField(
        default=14, help_text="A false-positive closure suppresses new cases on its account for this many days."
    )
    max_severity = models.CharField(
        max_length=8,
        choices=Severity.choices,
        default=Severity.HIGH,
        help_text="Flagged transactions more severe than this always open a case.",
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation"], name="one_suppression_rule")]

    def __str__(self) -> str:
        state = "on" if self.is_active else "off"
        return f"Suppress after a false positive for {self.window_days} days, up to {self.max_severity} ({state})"


class SuppressedAlert(OrganisationOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        DISMISSED = "dismissed", "Dismissed as a false positive"
        CASE_OPENED = "case_opened", "Case opened"

    transaction = models.OneToOneField("scoring.Transaction", on_delete=models.PROTECT, related_name="+")
    account_id = models.CharField(max_length=128)
    previous_case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="suppressed_alerts")
    severity = models.CharField(max_length=8, choices=Severity.choices)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    opened_case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "status", "created_at"], name="suppressed_review_queue")]

    def __str__(self) -> str:
        return f"{self.account_id} after {self.previous_case_id} ({self.status})"
