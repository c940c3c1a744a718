"""Comments with @mentions, and four-eyes approvals of case closures."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from approvals.models import FourEyesRequest, one_pending_per
from cases.models.case import Case
from organisations.models import OrganisationOwned


class Comment(OrganisationOwned):
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


class Mention(OrganisationOwned):
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


class Approval(FourEyesRequest):
    """A case closure waiting for a second person (four-eyes): requester and approver are never the same."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="approvals")
    outcome = models.CharField(max_length=16, choices=Case.Outcome.choices)
    rationale = models.TextField()
    reason = models.CharField(max_length=200, help_text="Why a second person must approve.")
    previous_status = models.CharField(max_length=16, choices=Case.Status.choices)
    history = HistoricalRecords()

    class Meta(FourEyesRequest.Meta):
        constraints = [*FourEyesRequest.Meta.constraints, one_pending_per("case", name="one_pending_approval")]
        indexes = [models.Index(fields=["status", "requested_at"], name="approval_queue")]

    def __str__(self) -> str:
        return f"{self.case_id} closure as {self.outcome} ({self.status})"
