"""The SAR draft a case closed as "SAR filed" carries: made from the evidence when the closure is proposed,
edited by the analyst, approved with the closure (four-eyes), exported in the SAR package."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from cases.models.case import Case
from cases.models.collaboration import Approval
from organisations.models import OrganisationOwned


class SarDraft(OrganisationOwned):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft, awaiting the closure's approval"
        APPROVED = "approved", "Approved with the closure"
        REJECTED = "rejected", "Closure rejected or withdrawn"

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="sar_draft")
    approval = models.ForeignKey(Approval, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    subjects = models.JSONField(
        default=list, help_text='[{"account_id", "identifiers": {"iban": [...], ...}}], in clear (access-controlled).'
    )
    activity_start = models.DateTimeField(null=True, blank=True)
    activity_end = models.DateTimeField(null=True, blank=True)
    totals = models.JSONField(default=dict, help_text='Amount by currency, decimal strings: {"EUR": "19000.0000"}.')
    transaction_count = models.PositiveIntegerField(default=0)
    typologies = models.JSONField(default=list, help_text="Suspected typologies, from the rules; the analyst edits.")
    rule_evidence = models.JSONField(default=list, help_text='[{"rule", "name", "hits", "reason"}]')
    model_evidence = models.JSONField(
        default=dict, help_text="Model versions, highest score, risk levels, top features."
    )
    narrative = models.TextField(help_text="Prefilled from the evidence; the analyst edits it before approval.")
    narrative_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    narrative_edited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        default_permissions = ("view", "change")

    def __str__(self) -> str:
        return f"SAR for {self.case_id} ({self.status})"

    @property
    def is_editable(self) -> bool:
        return self.status != self.Status.APPROVED
