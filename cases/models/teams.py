"""Teams own case queues; routing rules send new cases to a team; guardian rows share single cases."""

from django.conf import settings
from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from cases.models.case import SEVERITY_ORDER, Case, Severity
from organisations.models import OrganisationOwned


class Team(OrganisationOwned):
    class Assignment(models.TextChoices):
        MANUAL = "manual", "By hand"
        ROUND_ROBIN = "round_robin", "Round-robin among available members"
        LEAST_LOADED = "least_loaded", "Least-loaded available member"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50)
    description = models.TextField(blank=True, default="")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="case_teams")
    assignment = models.CharField(
        max_length=16,
        choices=Assignment.choices,
        default=Assignment.MANUAL,
        help_text="How new cases of this team find their assignee.",
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
        help_text="Told when a case of the team nears its SLA.",
    )
    escalation_team = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalated_from",
        help_text="Where a case of this team goes when its SLA breaches (none: it stays, flagged as breached).",
    )
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="Round-robin: the member who had the last case.",
    )
    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="team_name_unique"),
            models.UniqueConstraint(fields=["organisation", "slug"], name="team_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Availability(OrganisationOwned):
    """Whether a person takes new cases now: marked available, and not out of office."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_availability")
    is_available = models.BooleanField(default=True, help_text="Takes automatically assigned cases.")
    out_of_office_until = models.DateTimeField(
        null=True, blank=True, help_text="Out of office until then: no automatic assignment before."
    )
    note = models.CharField(max_length=200, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "availability"
        constraints = [models.UniqueConstraint(fields=["user"], name="availability_once")]

    def __str__(self) -> str:
        return f"{self.user_id}: {'available' if self.is_available else 'unavailable'}"

    def takes_cases(self, now) -> bool:
        return self.is_available and (self.out_of_office_until is None or self.out_of_office_until <= now)


class RoutingRule(OrganisationOwned):
    """Sends a newly opened case to a team. Rules are tried by ascending priority; the first match wins.

    Blank conditions match anything, so a rule with no condition is the catch-all.
    """

    name = models.CharField(max_length=100)
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")
    account_prefix = models.CharField(max_length=64, blank=True, default="", help_text="Account id starts with.")
    min_severity = models.CharField(
        max_length=8, choices=Severity.choices, blank=True, default="", help_text="Case severity at least."
    )
    source = models.CharField(max_length=64, blank=True, default="", help_text="A transaction came from this source.")
    rule_code = models.CharField(
        max_length=64, blank=True, default="", help_text="A decision hit this scoring rule (its code)."
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return f"{self.priority}: {self.name} → {self.team}"

    def matches(self, *, account_id: str, severity: str, sources: set[str], rule_codes: set[str]) -> bool:
        return (
            self.is_active
            and account_id.startswith(self.account_prefix)
            and (not self.min_severity or SEVERITY_ORDER[severity] >= SEVERITY_ORDER[self.min_severity])
            and (not self.source or self.source in sources)
            and (not self.rule_code or self.rule_code in rule_codes)
        )


class CaseUserObjectPermission(UserObjectPermissionBase):
    """guardian's per-case user permissions with a real foreign key, so visibility is one indexed join."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        pass


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass
