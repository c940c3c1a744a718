"""Cases that analysts work: one per account under investigation, with its transactions and timeline."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from organisations.models import OrganisationOwned, OrganisationQuerySet, organisation_field, organisation_manager
from organisations.selectors import acting_organisation_id


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_ORDER = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2, Severity.CRITICAL: 3}


class Priority(models.IntegerChoices):
    P1 = 1, "P1 (urgent)"
    P2 = 2, "P2 (high)"
    P3 = 3, "P3 (normal)"
    P4 = 4, "P4 (low)"


PRIORITY_FOR_SEVERITY = {Severity.CRITICAL: 1, Severity.HIGH: 2, Severity.MEDIUM: 3, Severity.LOW: 4}


class CaseQuerySet(OrganisationQuerySet):
    def open(self):
        return self.exclude(status=Case.Status.CLOSED)

    def visible_to(self, user):
        """The cases `user` may see, in the organisation they act in: all with cases.view_all_cases; else their
        teams', assigned and shared ones.

        Every page, API view and consumer reads cases through this one scope (no IDOR).
        """
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        organisation_id = acting_organisation_id(user)
        if organisation_id is None:
            return self.none()
        cases = self.filter(organisation_id=organisation_id)  # never another organisation's
        if user.has_perm("cases.view_all_cases"):
            return cases
        if not user.has_perm("cases.view_case"):
            return cases.none()
        from cases.models.teams import CaseUserObjectPermission, Team

        # Two small lookups, then literal id lists: PostgreSQL combines the team, assignee and primary
        # key indexes (BitmapOr) instead of scanning every case to evaluate a correlated EXISTS.
        team_ids = list(Team.members.through.objects.filter(user_id=user.pk).values_list("team_id", flat=True))
        shared_ids = list(
            CaseUserObjectPermission.objects.filter(
                user_id=user.pk, permission__codename="view_case", permission__content_type__app_label="cases"
            ).values_list("content_object_id", flat=True)
        )
        scope = models.Q(assignee_id=user.pk)
        if team_ids:
            scope |= models.Q(team_id__in=team_ids)
        if shared_ids:
            scope |= models.Q(pk__in=shared_ids)
        return cases.filter(scope)


class Case(OrganisationOwned):
    class Status(models.TextChoices):
        NEW = "new", "New"
        TRIAGE = "triage", "Triage"
        INVESTIGATING = "investigating", "Investigating"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        ESCALATED = "escalated", "Escalated"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        FALSE_POSITIVE = "false_positive", "False positive"
        CONFIRMED_FRAUD = "confirmed_fraud", "Confirmed fraud"
        SAR_FILED = "sar_filed", "SAR filed"
        NO_ACTION = "no_action", "No action"
        MERGED = "merged", "Merged into another case"

    class Origin(models.TextChoices):
        FLAGGED = "flagged", "Flagged decisions"
        TIP = "tip", "Tip"
        CUSTOMER_CALL = "customer_call", "Customer call"
        LAW_ENFORCEMENT = "law_enforcement", "Law-enforcement request"
        INTERNAL_REVIEW = "internal_review", "Internal review"
        OTHER = "other", "Other"

    reference = models.CharField(max_length=32, help_text="Unique within the organisation.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", help_text="Why the case was opened by hand.")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.FLAGGED)
    version = models.PositiveIntegerField(
        default=1, help_text="Goes up with every change; a change made on an older version is refused."
    )
    account_id = models.CharField(max_length=128, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    peak_severity = models.CharField(
        max_length=8,
        choices=Severity.choices,
        help_text="The highest severity the case has had; four-eyes on its closure follows this, not the current one.",
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P3)
    team = models.ForeignKey(
        "cases.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="cases", help_text="Owning queue."
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_cases"
    )
    sla_due_at = models.DateTimeField()
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_warned_at = models.DateTimeField(null=True, blank=True, help_text="When its people were told the SLA nears.")
    sla_breached_at = models.DateTimeField(null=True, blank=True, help_text="When the SLA breach was handled.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    rationale = models.TextField(blank=True, default="")
    legal_hold = models.BooleanField(
        default=False, help_text="Set by compliance: the case is never archived or removed while held."
    )
    legal_hold_reason = models.CharField(max_length=500, blank=True, default="")
    transactions = models.ManyToManyField("scoring.Transaction", through="CaseTransaction", related_name="cases")
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_cases",
        help_text="The case this duplicate was merged into; its reference leads there.",
    )
    history = HistoricalRecords()

    objects = organisation_manager(CaseQuerySet)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["organisation", "status", "severity"], name="case_status_severity"),
            models.Index(fields=["organisation", "sla_due_at"], name="case_sla"),
            # A team belongs to one organisation: its queue needs no organisation column.
            models.Index(fields=["team", "status", "opened_at"], name="case_team_queue"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            models.Index(fields=["organisation", "status", "closed_at"], name="case_closed_recent"),
            models.Index(fields=["organisation", "-opened_at"], name="case_opened_recent"),
            # account_id LIKE 'prefix%' (worklist search) under a non-C collation; ignored by SQLite
            models.Index(
                fields=["organisation", "account_id"],
                name="case_account_prefix",
                opclasses=["int8_ops", "varchar_pattern_ops"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "reference"], name="case_reference_unique"),
            models.UniqueConstraint(
                fields=["organisation", "account_id"],
                condition=~models.Q(status="closed"),
                name="one_open_case_per_account",
            ),
            models.CheckConstraint(
                condition=models.Q(status="closed", outcome__gt="")
                | (~models.Q(status="closed") & models.Q(outcome="")),
                name="closed_case_has_outcome",
            ),
        ]
        permissions = [
            ("work_case", "Can work cases: triage, investigate, comment"),
            ("assign_case", "Can assign cases"),
            ("escalate_case", "Can escalate cases"),
            ("propose_closure", "Can propose closing a case"),
            ("approve_closure", "Can approve or reject a case closure (four-eyes)"),
            ("view_all_cases", "Can see every team's cases"),
            ("file_sar", "Can close a case as SAR filed"),
            ("export_case", "Can export a case file"),
            ("set_legal_hold", "Can place a case under legal hold or release it"),
            ("merge_case", "Can merge duplicate cases into one"),
            ("bulk_change_case", "Can transition, escalate or close many cases at once"),
            ("review_suppressed", "Can review alerts held back by duplicate suppression"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @property
    def is_frozen(self) -> bool:
        """Pending approval: nothing but comments may change until the closure is decided."""
        return self.status == self.Status.PENDING_APPROVAL

    def note_severity(self, severity: str) -> None:
        """Set the severity, keeping the highest it has ever had in peak_severity."""
        self.severity = severity
        if not self.peak_severity or SEVERITY_ORDER[severity] > SEVERITY_ORDER[self.peak_severity]:
            self.peak_severity = severity


class CaseTransaction(OrganisationOwned):
    organisation = organisation_field(hot=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    transaction = models.ForeignKey("scoring.Transaction", on_delete=models.PROTECT, related_name="case_links")
    added_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "transaction"], name="case_transaction_once")]

    def __str__(self) -> str:
        return f"{self.case_id} ← {self.transaction_id}"


class CaseEvent(OrganisationOwned):
    """One entry on a case's timeline."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        TRANSACTIONS_ADDED = "transactions_added", "Transactions added"
        SEVERITY_RAISED = "severity_raised", "Severity raised"
        STATUS_CHANGED = "status_changed", "Status changed"
        ASSIGNED = "assigned", "Assigned"
        COMMENTED = "commented", "Commented"
        ESCALATED = "escalated", "Escalated"
        SHARED = "shared", "Shared"
        UPDATED = "updated", "Updated"
        CLOSURE_PROPOSED = "closure_proposed", "Closure proposed"
        CLOSURE_APPROVED = "closure_approved", "Closure approved"
        CLOSURE_REJECTED = "closure_rejected", "Closure rejected"
        CLOSED = "closed", "Closed"
        LEGAL_HOLD = "legal_hold", "Legal hold changed"
        ATTACHED = "attached", "File attached"
        ATTACHMENT_SCANNED = "attachment_scanned", "Attachment scanned"
        CHECKLIST_TICKED = "checklist_ticked", "Checklist item ticked"
        MERGED = "merged", "Merged"
        DECISION_REVIEWED = "decision_reviewed", "Decision reviewed"
        DUPLICATE_SUPPRESSED = "duplicate_suppressed", "New alert held for review"
        SLA_WARNING = "sla_warning", "SLA about to breach"
        SLA_BREACHED = "sla_breached", "SLA breached"
        INVESTIGATED = "investigated", "Investigated by the agent"
        PROPOSAL_DECIDED = "proposal_decided", "Agent proposal decided"

    organisation = organisation_field(hot=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_event_timeline")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CaseCounter(OrganisationOwned):
    """Last case number an organisation used in a year, for references like CASE-2026-000123."""

    year = models.PositiveIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "year"], name="case_counter_unique")]

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
