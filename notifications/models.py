"""What a person is told: in-app notifications (the bell), and how each kind reaches them by email."""

from django.conf import settings
from django.db import models

from organisations.models import OrganisationOwned


class Kind(models.TextChoices):
    MENTION = "mention", "Mentions"
    ASSIGNMENT = "assignment", "Assignments"
    APPROVAL = "approval", "Approvals waiting"
    SLA = "sla", "SLA warnings and breaches"
    INVESTIGATION = "investigation", "Investigation results"


class EmailMode(models.TextChoices):
    OFF = "off", "No email"
    IMMEDIATE = "immediate", "One email each"
    DIGEST = "digest", "Hourly digest"


class Notification(OrganisationOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    url = models.CharField(max_length=300, blank=True, default="", help_text="Where it leads: a path in finobs.")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    email_mode = models.CharField(
        max_length=16,
        choices=EmailMode.choices,
        default=EmailMode.OFF,
        help_text="How it was to be emailed, fixed when it was made (the person's choice for its kind then).",
    )
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread"),
            models.Index(fields=["user", "-created_at"], name="notification_recent"),
            models.Index(
                fields=["email_mode", "user"],
                condition=models.Q(emailed_at__isnull=True) & ~models.Q(email_mode="off"),
                name="notification_email_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(OrganisationOwned):
    """A person's choice of email for one kind; without a row, NOTIFICATION_EMAIL_DEFAULTS applies."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    email = models.CharField(max_length=16, choices=EmailMode.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.email}"
