"""Retention of records: what outlived its period is archived into a signed bundle at ARCHIVE_PATH, then
removed, in this order each day (finobs.retention):

1. closed cases CASE_RETENTION_YEARS after their closure, one bundle each (the case bundle), never a case
   under legal hold;
2. transactions older than TRANSACTION_RETENTION_DAYS (unset: kept) that no remaining case holds, in
   batches of PRUNE_BATCH_ROWS, with their decisions;
3. audit events older than AUDIT_RETENTION_YEARS: the oldest segment of each organisation's chain, and of
   the platform's (events outside every organisation, archived as system work into a record of no
   organisation), as one bundle the verifier checks link by link, then an archive checkpoint signs its head
   before the rows go, so `verify_audit` verifies the chain that remains from there.

A bundle is written and signed before anything is removed; a failed bundle removes nothing.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.checkpoints import latest_archive
from audit.services import PLATFORM, audit_archived_remove, audit_log, chain_of
from cases.models import Approval, Case, CaseTransaction, SarDraft
from evidence.models import ExportRecord
from evidence.services.records import export_run
from organisations.context import organisation_context, system_context
from organisations.models import Organisation
from scoring.models import Decision, Transaction

logger = logging.getLogger(__name__)

ACTOR = "system:retention"
Kind = ExportRecord.Kind
DAYS_PER_YEAR = 365.25


def records_archive() -> dict[str, int]:
    """Archive and remove what expired in every organisation; returns what was removed, by kind."""
    removed = {"cases": 0, "transactions": 0, "audit_events": 0}
    for organisation in Organisation.objects.order_by("pk"):
        with organisation_context(organisation):
            removed["cases"] += cases_archive()
            removed["transactions"] += transactions_archive()
            removed["audit_events"] += audit_events_archive(organisation=organisation)
    with system_context():
        removed["audit_events"] += audit_events_archive(organisation=PLATFORM)
    return removed


def _archive(kind: str, subject: str, parameters: dict, total: int) -> ExportRecord | None:
    """Write one archive bundle through the export machinery (an ExportRecord, audited); None if it failed."""
    record = ExportRecord.objects.create(
        kind=kind, subject=subject[:200], parameters=parameters, actor=ACTOR, total_items=total
    )
    record = export_run(record_id=record.pk)
    if record.status != ExportRecord.Status.DONE:
        logger.error("archive %s of %s failed: %s", kind, subject, record.failure)
        return None
    return record


def cases_archive() -> int:
    """Closed cases past CASE_RETENTION_YEARS and not held: each archived, then removed with its timeline,
    comments, approvals and SAR draft. Their transactions are then free for transaction retention."""
    cutoff = timezone.now() - timedelta(days=DAYS_PER_YEAR * settings.CASE_RETENTION_YEARS)
    expired = Case.objects.filter(status=Case.Status.CLOSED, closed_at__lt=cutoff, legal_hold=False).order_by("pk")
    removed = 0
    for case in expired.iterator(chunk_size=100):
        record = _archive(Kind.ARCHIVE_CASE, case.reference, {"case_id": case.pk, "reference": case.reference}, 0)
        if record is None:
            continue
        with transaction.atomic():
            case = Case.objects.select_for_update().filter(pk=case.pk, legal_hold=False).first()
            if case is None:  # held meanwhile: the bundle stays, the case too
                continue
            approval_ids = list(Approval.objects.filter(case=case).values_list("pk", flat=True))
            # Their history holds the same personal data: it goes with them (it is in the bundle).
            Case.history.filter(id=case.pk).delete()
            Approval.history.filter(id__in=approval_ids).delete()
            SarDraft.history.filter(case_id=case.pk).delete()
            case.delete()
            audit_log(
                actor=ACTOR,
                action="retention.case_archived",
                object_type="case",
                object_id=case.reference,
                payload={"bundle_sha256": record.sha256, "export_id": record.pk, "closed_at": case.closed_at},
            )
        removed += 1
    return removed


def transactions_archive() -> int:
    """Transactions older than TRANSACTION_RETENTION_DAYS that no case holds, a batch per bundle."""
    if settings.TRANSACTION_RETENTION_DAYS is None:
        return 0
    cutoff = timezone.now() - timedelta(days=settings.TRANSACTION_RETENTION_DAYS)
    removed = 0
    while True:
        held = CaseTransaction.objects.values("transaction_id")
        ids = list(
            Transaction.objects.filter(occurred_at__lt=cutoff)
            .exclude(pk__in=held)
            .order_by("pk")
            .values_list("pk", flat=True)[: settings.PRUNE_BATCH_ROWS]
        )
        if not ids:
            return removed
        subject = f"before {cutoff:%Y-%m-%d}, ids {ids[0]}-{ids[-1]}"
        record = _archive(Kind.ARCHIVE_TRANSACTIONS, subject, {"ids": ids, "before": cutoff.isoformat()}, len(ids))
        if record is None:
            return removed
        with transaction.atomic():
            still_free = list(Transaction.objects.filter(pk__in=ids).exclude(pk__in=held).values_list("pk", flat=True))
            Decision.objects.filter(transaction_id__in=still_free).delete()
            Transaction.objects.filter(pk__in=still_free).delete()
            audit_log(
                actor=ACTOR,
                action="retention.transactions_archived",
                object_type="export",
                object_id=record.pk,
                payload={"bundle_sha256": record.sha256, "transactions": len(still_free)},
            )
        removed += len(still_free)
        if len(ids) < settings.PRUNE_BATCH_ROWS:
            return removed


def audit_events_archive(*, organisation: Organisation | str) -> int:
    """The events of `organisation`'s chain (in its context), or of the platform's (PLATFORM, as system work),
    older than AUDIT_RETENTION_YEARS, from where the last archive ended: one bundle (a contiguous segment),
    then removed behind a signed archive checkpoint."""
    cutoff = timezone.now() - timedelta(days=DAYS_PER_YEAR * settings.AUDIT_RETENTION_YEARS)
    organisation_id = None if organisation == PLATFORM else organisation.pk
    chain = chain_of(organisation_id)
    archive = latest_archive(organisation_id)
    after = archive.head_id if archive else 0
    last = chain.filter(created_at__lt=cutoff).order_by("-id").values_list("id", flat=True).first()
    if last is None or last <= after:
        return 0
    first = chain.filter(id__gt=after).order_by("id").values_list("id", flat=True).first()
    total = chain.filter(id__gt=after, id__lte=last).count()
    record = _archive(Kind.ARCHIVE_AUDIT, f"events {first}-{last}", {"first_id": first, "last_id": last}, total)
    if record is None:
        return 0
    removed = audit_archived_remove(organisation=organisation, through_id=last, bundle_sha256=record.sha256)
    audit_log(
        actor=ACTOR,
        action="retention.audit_archived",
        object_type="export",
        object_id=record.pk,
        payload={"bundle_sha256": record.sha256, "first_id": first, "last_id": last, "events": removed},
    )
    return removed
