"""Files attached to a case or to one of its comments, stored by their SHA-256."""

from django.conf import settings
from django.db import models

from cases.models.case import Case
from cases.models.collaboration import Comment
from organisations.models import OrganisationOwned


def storage_key(sha256: str) -> str:
    """Where a file's bytes live in the attachments storage: the same bytes always have the same key."""
    return f"attachments/{sha256[:2]}/{sha256}"


class Attachment(OrganisationOwned):
    class ScanStatus(models.TextChoices):
        PENDING = "pending", "Pending scan"
        CLEAN = "clean", "Clean"
        INFECTED = "infected", "Infected"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the bytes, computed as the upload streamed in.")
    key = models.CharField(max_length=100, help_text="Content-addressed key in the attachments storage.")
    size_bytes = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=255)
    declared_type = models.CharField(max_length=127, blank=True, default="", help_text="What the uploader said.")
    sniffed_type = models.CharField(max_length=127, help_text="What the content is (libmagic).")
    scan_status = models.CharField(max_length=8, choices=ScanStatus.choices, default=ScanStatus.PENDING)
    scanner = models.CharField(max_length=16, help_text="The scanner that decided the status (none, clamd).")
    scan_detail = models.CharField(max_length=255, blank=True, default="", help_text="The signature found, if any.")
    scanned_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [
            models.Index(fields=["case", "uploaded_at"], name="attachment_case_time"),
            models.Index(fields=["organisation", "sha256"], name="attachment_sha256"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="attachment_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"

    @property
    def is_downloadable(self) -> bool:
        return self.scan_status == self.ScanStatus.CLEAN
