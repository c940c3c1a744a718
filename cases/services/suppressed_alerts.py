"""Reviewing the alerts duplicate suppression held back: dismiss one (its transaction is labelled legitimate)
or open a case for it, with a note; both are audited and published."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_log
from cases.models import Case, SuppressedAlert
from cases.services.lifecycle import require_perm
from cases.services.opening import open_cases_for_decisions
from kernel.errors import Conflict
from kernel.events import publish
from scoring.models import Decision, Label
from scoring.services import record_labels


def suppressed_alerts_visible_to(user):
    """The held-back alerts on accounts whose previous case the user may see."""
    return SuppressedAlert.objects.filter(previous_case__in=Case.objects.visible_to(user))


def _check_review(alert: SuppressedAlert, *, note: str, actor) -> None:
    require_perm(actor, "cases.work_case")
    require_perm(actor, "cases.review_suppressed")
    if alert.status != SuppressedAlert.Status.PENDING:
        raise Conflict("This alert has been reviewed already.", code="already_reviewed")
    if not note.strip():
        raise ValidationError({"note": "Say why."}, code="required")


def suppressed_alert_dismiss(*, alert: SuppressedAlert, note: str, actor) -> SuppressedAlert:
    """The alert is another false positive: its transaction is labelled legitimate, and no case opens."""
    _check_review(alert, note=note, actor=actor)
    with transaction.atomic():
        alert = SuppressedAlert.objects.select_for_update().get(pk=alert.pk)
        _check_review(alert, note=note, actor=actor)
        record_labels(transaction_ids=[alert.transaction_id], label=Label.LEGIT, actor=actor)
        _reviewed(alert, status=SuppressedAlert.Status.DISMISSED, note=note, actor=actor)
    return alert


def suppressed_alert_open_case(*, alert: SuppressedAlert, note: str, actor) -> Case:
    """The alert deserves a case after all: one opens (or the account's open case takes it), as on ingest."""
    _check_review(alert, note=note, actor=actor)
    with transaction.atomic():
        alert = SuppressedAlert.objects.select_for_update().get(pk=alert.pk)
        _check_review(alert, note=note, actor=actor)
        decision = Decision.objects.select_related("transaction").get(transaction_id=alert.transaction_id)
        references = open_cases_for_decisions(decisions=[decision], actor=actor, suppress=False)
        alert.opened_case = Case.objects.get(reference=references[alert.transaction_id])
        _reviewed(alert, status=SuppressedAlert.Status.CASE_OPENED, note=note, actor=actor)
    return alert.opened_case


def _reviewed(alert: SuppressedAlert, *, status: str, note: str, actor) -> None:
    alert.status = status
    alert.note = note.strip()
    alert.reviewed_by = actor
    alert.reviewed_at = timezone.now()
    alert.save(update_fields=["status", "note", "reviewed_by", "reviewed_at", "opened_case"])
    data = {
        "alert_id": alert.pk,
        "account_id": alert.account_id,
        "transaction_id": alert.transaction_id,
        "status": status,
        "note": alert.note,
        "opened_case": alert.opened_case.reference if alert.opened_case_id else None,
    }
    audit_log(
        actor=actor,
        action="case.suppressed_alert_reviewed",
        object_type="case",
        object_id=alert.previous_case.reference,
        payload=data,
    )
    publish("case.suppressed_alert_reviewed", {"reference": alert.previous_case.reference, **data})
