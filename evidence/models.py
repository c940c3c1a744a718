"""What was exported or archived, by whom, when, and the hash and key of the bundle: every export's record."""

from django.conf import settings
from django.db import models

from organisations.models import OrganisationOwned, OrganisationQuerySet, organisation_field, organisation_manager


class ExportRecordQuerySet(OrganisationQuerySet):
    def visible_to(self, user) -> "ExportRecordQuerySet":
        """People see their own exports; those who may export the audit trail see every export of their
        organisation (the export log is part of the audit trail)."""
        if user is None or not user.is_authenticated:
            return self.none()
        if user.has_perm("audit.export_audit"):
            return self
        return self.filter(requested_by=user)


class ExportRecord(OrganisationOwned):
    class Kind(models.TextChoices):
        CASE = "case", "Case bundle"
        SAR = "sar", "SAR package"
        AUDIT = "audit", "Audit trail"
        TRANSACTIONS = "transactions", "Transactions"
        ARCHIVE_AUDIT = "archive_audit", "Archived audit events"
        ARCHIVE_CASE = "archive_case", "Archived case"
        ARCHIVE_TRANSACTIONS = "archive_transactions", "Archived transactions"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # The archive of the platform's audit chain belongs to no organisation, as that chain's events do.
    organisation = organisation_field(platform=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    subject = models.CharField(max_length=200, help_text="What was exported: a case reference, a time range, a filter.")
    parameters = models.JSONField(default=dict, blank=True, help_text="The request, as the job reads it.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="export_records"
    )
    actor = models.CharField(max_length=200, help_text="Who exported, as the audit trail names them.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_items = models.PositiveIntegerField(default=0)
    processed_items = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True, help_text="The bundle, under EXPORT_PATH or ARCHIVE_PATH.")
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the whole bundle file.")
    key_id = models.CharField(max_length=64, blank=True, help_text="The signing key's id.")
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of its worker.")
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = organisation_manager(ExportRecordQuerySet)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)  # records are written by the export services only
        indexes = [
            models.Index(fields=["organisation", "-created_at"], name="exportrecord_recent"),
            models.Index(fields=["requested_by", "-created_at"], name="exportrecord_user"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def is_archive(self) -> bool:
        return self.kind.startswith("archive_")

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_items:
            return 0
        return min(99, self.processed_items * 100 // self.total_items)
