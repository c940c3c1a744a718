"""An analyst's verdict on one transaction's decision, given without closing its case."""

from django.conf import settings
from django.db import models

from cases.models.case import Case
from organisations.models import OrganisationOwned


class DecisionReview(OrganisationOwned):
    class Verdict(models.TextChoices):
        FALSE_POSITIVE = "false_positive", "False positive"
        CONFIRMED = "confirmed", "Confirmed"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="decision_reviews")
    transaction = models.ForeignKey("scoring.Transaction", on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason = models.TextField()
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField()

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [models.Index(fields=["case", "transaction"], name="decision_review_case")]

    def __str__(self) -> str:
        return f"{self.transaction_id}: {self.verdict}"
