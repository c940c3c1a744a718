"""Pull sources: remote JSON APIs that finobs polls on a schedule, and the history of each run."""

from django.db import models
from simple_history.models import HistoricalRecords

from kernel.encryption import EncryptedTextField
from organisations.models import OrganisationOwned


class PullSource(OrganisationOwned):
    """An HTTP endpoint that returns transactions page by page, pulled every `interval_s` seconds."""

    class Method(models.TextChoices):
        GET = "GET", "GET"

    name = models.CharField(max_length=100, help_text="Unique within the organisation.")
    source = models.SlugField(
        max_length=64, help_text="The source the records are ingested as; duplicates are detected per source."
    )
    url = models.URLField(max_length=2000)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.GET)
    auth_header_name = models.CharField(max_length=100, blank=True, help_text="e.g. Authorization or X-Api-Key.")
    # Encrypted at rest: the run sends it, so it cannot be hashed.
    auth_header_value = EncryptedTextField(
        blank=True, help_text="Secret: never shown again once saved; leave empty to keep it."
    )
    query_params = models.JSONField(default=dict, blank=True, help_text='Extra query parameters, e.g. {"limit": 500}.')
    records_path = models.CharField(
        max_length=200, blank=True, help_text="Dotted path to the list of records in the response; empty = the body."
    )
    cursor_param = models.CharField(max_length=100, blank=True, help_text="Query parameter that carries the cursor.")
    next_cursor_path = models.CharField(
        max_length=200, blank=True, help_text="Dotted path to the next cursor in the response."
    )
    cursor_field = models.CharField(
        max_length=100,
        blank=True,
        help_text="Without a next cursor in the response, the last record's field used as cursor (e.g. timestamp).",
    )
    # Opaque cursors (signed tokens) can be long: text, not a bounded CharField.
    cursor = models.TextField(blank=True, help_text="Where the next run starts.")
    max_pages_per_run = models.PositiveIntegerField(default=10)
    interval_s = models.PositiveIntegerField(default=300, help_text="Seconds between runs.")
    is_enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    backoff_until = models.DateTimeField(null=True, blank=True, help_text="No run starts before this time.")
    running_since = models.DateTimeField(null=True, blank=True, help_text="Set while a run holds the source.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The secret stays out of history; runs change cursor and breaker state with UPDATE (no history row).
    history = HistoricalRecords(excluded_fields=["auth_header_value", "running_since", "updated_at"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="pullsource_name_unique"),
            models.CheckConstraint(condition=models.Q(interval_s__gte=10), name="pullsource_interval_min_10s"),
            models.CheckConstraint(condition=models.Q(max_pages_per_run__gte=1), name="pullsource_pages_min_1"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_label(self) -> str:
        """How the audit trail names this source when it ingests (see audit.services.actor_label)."""
        return f"pull:{self.pk}:{self.source}"

    @property
    def periodic_task_name(self) -> str:
        return f"pull-source-{self.pk}"


class PullRun(OrganisationOwned):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    pull_source = models.ForeignKey(PullSource, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    cursor_before = models.TextField(blank=True)
    cursor_after = models.TextField(blank=True)
    error = models.TextField(blank=True)
    item_errors = models.JSONField(
        default=list, blank=True, help_text="The first invalid records: [{page, index, field, message}]."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it (each page)."
    )
    resumes = models.PositiveSmallIntegerField(
        default=0, help_text="Runs of this source in a row that were lost with their worker before this one."
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["pull_source", "-started_at"], name="pullrun_source_started"),
            models.Index(fields=["heartbeat_at"], condition=models.Q(status="running"), name="pullrun_running"),
            models.Index(fields=["started_at"], condition=models.Q(status="skipped"), name="pullrun_skipped"),
        ]

    def __str__(self) -> str:
        return f"{self.pull_source} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"
