"""Investigations by the evidence-first agent, and the actions it proposes for a person to decide."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from approvals.models import FourEyesRequest
from cases.models.case import Case
from organisations.models import OrganisationOwned


class Investigation(OrganisationOwned):
    """One run of the agent over a case: the evidence its tools returned, what it found and recommends.

    Written only by cases.services.investigations; `done` is set together with the whole result, so a
    failed run never shows a partial one.
    """

    class Mode(models.TextChoices):
        ON_DEMAND = "on_demand", "On demand"
        CONTINUOUS = "continuous", "Continuous"
        MCP = "mcp", "Over MCP (an API key)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="investigations")
    transaction = models.ForeignKey(
        "scoring.Transaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ON_DEMAND)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whose view of the data the tools read: the person who asked, or the agent's system identity.",
    )
    api_key = models.ForeignKey(
        "apikeys.ApiKey",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The API key that asked over MCP: the tools read only the cases and transactions of its source.",
    )
    provider = models.CharField(max_length=32, blank=True, default="")
    model = models.CharField(max_length=100, blank=True, default="")
    prompt_version = models.CharField(max_length=16, blank=True, default="", help_text="Hash of the prompt.")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    evidence = models.JSONField(default=list, blank=True)
    findings = models.JSONField(default=list, blank=True)
    recommendation = models.JSONField(default=dict, blank=True)
    narrative = models.TextField(blank=True, default="")
    dropped_claims = models.PositiveIntegerField(
        default=0, help_text="Findings or proposals that cited evidence no tool returned: dropped, never shown."
    )
    trace = models.JSONField(default=list, blank=True, help_text="Each tool call: arguments, output digest, time.")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["case", "-created_at"], name="investigation_case_recent"),
            models.Index(fields=["organisation", "status", "created_at"], name="investigation_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="done") | Q(finished_at__isnull=False, error=""),
                name="investigation_done_is_whole",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | Q(finished_at__isnull=False) & ~Q(error=""),
                name="investigation_failure_has_reason",
            ),
            # A key's request always carries its key (its scope), and only a key's request does.
            models.CheckConstraint(
                condition=Q(mode="mcp", api_key__isnull=False) | ~Q(mode="mcp") & Q(api_key__isnull=True),
                name="investigation_key_iff_mcp",
            ),
        ]
        permissions = [
            ("request_investigation", "Can ask the agent to investigate a case"),
            ("decide_agent_action", "Can accept or reject an action the agent proposes"),
            ("propose_agent_action", "Can propose actions for a person to decide (the agent's system identity)"),
        ]

    def __str__(self) -> str:
        return f"investigation {self.pk} of {self.case_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}


class AgentAction(FourEyesRequest):
    """An action the agent proposes (its system identity asks) and a person accepts or rejects (four-eyes).

    Accepting applies it through the case's own services as the person who accepted, so a HIGH or
    CRITICAL closure still waits for its second approver.
    """

    class Kind(models.TextChoices):
        CLOSE_AS = "close_as", "Close as"
        ESCALATE = "escalate", "Escalate"
        ASSIGN = "assign", "Assign"
        REQUEST_INFORMATION = "request_information", "Request information"
        DRAFT_RULE = "draft_rule", "Draft a rule"

    investigation = models.ForeignKey(Investigation, on_delete=models.CASCADE, related_name="actions")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="agent_actions")
    action_kind = models.CharField(max_length=24, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    evidence_ids = models.JSONField(default=list, blank=True)
    rationale = models.TextField(blank=True, default="")
    applied_at = models.DateTimeField(null=True, blank=True)
    effect = models.JSONField(default=dict, blank=True, help_text="What accepting it did.")

    class Meta(FourEyesRequest.Meta):
        constraints = [
            *FourEyesRequest.Meta.constraints,
            models.UniqueConstraint(
                fields=["investigation", "action_kind"], condition=Q(status="pending"), name="one_pending_agent_action"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "status", "requested_at"], name="agent_action_queue")]

    def __str__(self) -> str:
        return f"{self.action_kind} on {self.case_id} ({self.status})"

    @property
    def proposal_status(self) -> str:
        """proposed, accepted (applied as a request that waits for a second approver), applied, rejected, expired."""
        if self.status == self.Status.PENDING:
            return "proposed"
        if self.status == self.Status.APPROVED:
            return "applied" if self.applied_at else "accepted"
        if self.status == self.Status.REJECTED:
            return "rejected"
        return "expired"
