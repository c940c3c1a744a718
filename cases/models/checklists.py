"""Closing checklists: what must be done before a case may be proposed for closure with an outcome."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from cases.models.case import SEVERITY_ORDER, Case, Severity
from organisations.models import OrganisationOwned


class ClosingChecklist(OrganisationOwned):
    """Defined by admins, e.g. "SAR filed, HIGH and above: subject identified, narrative written, supervisor
    informed". It applies to closing a case with `outcome` when the case has reached `min_severity`."""

    name = models.CharField(max_length=120)
    outcome = models.CharField(max_length=16, choices=Case.Outcome.choices)
    min_severity = models.CharField(
        max_length=8,
        choices=Severity.choices,
        default=Severity.LOW,
        help_text="Applies to cases whose highest severity is at least this.",
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["outcome", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "outcome", "name"], name="closing_checklist_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_outcome_display()}, {self.get_min_severity_display()}+)"

    def applies_to(self, case: Case) -> bool:
        severity = case.peak_severity or case.severity
        return self.is_active and SEVERITY_ORDER[severity] >= SEVERITY_ORDER[self.min_severity]


class ChecklistItem(OrganisationOwned):
    checklist = models.ForeignKey(ClosingChecklist, on_delete=models.CASCADE, related_name="items")
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    is_required = models.BooleanField(default=True, help_text="Closure waits until a required item is ticked.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["checklist", "position", "id"]

    def __str__(self) -> str:
        return self.text


class ChecklistTick(OrganisationOwned):
    """One item ticked on one case: who and when; part of the case's evidence."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="checklist_ticks")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="ticks")
    ticked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ticked_at = models.DateTimeField()

    class Meta:
        ordering = ["ticked_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "item"], name="checklist_tick_once")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.item_id}"
