"""CSV uploads: a file an analyst uploads in the browser, ingested in chunks by a Celery job."""

from django.conf import settings
from django.db import models

from organisations.models import OrganisationOwned, OrganisationQuerySet, organisation_manager


class UploadJobQuerySet(OrganisationQuerySet):
    def visible_to(self, user) -> "UploadJobQuerySet":
        """Compliance and admins see every upload; everyone else only their own."""
        if user.has_perm("ingestion.view_all_uploads"):
            return self
        return self.filter(uploaded_by=user)


class UploadJob(OrganisationOwned):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="upload_jobs")
    source = models.SlugField(max_length=64)
    original_name = models.CharField(max_length=255)
    # The file lives in the database, not on a local disk: a worker on another host must read it.
    content = models.TextField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField()
    processed_rows = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="[{row, field, message}], the first ones only.")
    errors_not_kept = models.PositiveIntegerField(default=0, help_text="Row errors beyond the ones kept.")
    failure = models.TextField(blank=True, help_text="Why the job failed as a whole.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it (each chunk)."
    )
    resumes = models.PositiveSmallIntegerField(default=0, help_text="Times it was resumed after its worker was lost.")
    content_pruned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the file's text was removed (retention); hash and counts stay."
    )

    objects = organisation_manager(UploadJobQuerySet)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("view_all_uploads", "Can see every user's CSV uploads")]
        indexes = [
            models.Index(fields=["uploaded_by", "-created_at"], name="uploadjob_user_created"),
            # The stale-job sweep reads only the unfinished ones.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status__in=["queued", "running"]),
                name="uploadjob_unfinished",
            ),
        ]

    def __str__(self) -> str:
        return f"Upload #{self.pk} {self.original_name}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE or not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def is_content_pruned(self) -> bool:
        return self.content_pruned_at is not None

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
