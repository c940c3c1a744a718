"""Comments with @mentions, and four-eyes approvals of case closures."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from cases.models.case import Case


class Comment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="case_comments")
    body = models.TextField()
    created_at = models.DateTimeField()
    mentioned = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Mention", related_name="mentioned_in_comments", blank=True
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="comment_case_time")]

    def __str__(self) -> str:
        return f"{self.case_id} comment by {self.author_id}"


class Mention(models.Model):
    """A user named with @username in a comment: what that user's mentions inbox lists."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_mentions")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["comment", "user"], name="mention_once")]
        indexes = [models.Index(fields=["user", "read_at"], name="mention_inbox")]

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.comment_id}"


class Approval(models.Model):
    """A closure waiting for a second person (four-eyes): requester and approver are never the same."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="approvals")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    outcome = models.CharField(max_length=16, choices=Case.Outcome.choices)
    rationale = models.TextField()
    reason = models.CharField(max_length=200, help_text="Why a second person must approve.")
    previous_status = models.CharField(max_length=16, choices=Case.Status.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(status="pending"), name="one_pending_approval"),
            models.CheckConstraint(condition=~Q(decided_by=F("requested_by")), name="approver_is_not_requester"),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True)
                | (~Q(status="pending") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="decided_approval_has_decider",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="approval_queue")]

    def __str__(self) -> str:
        return f"{self.case_id} closure as {self.outcome} ({self.status})"
