"""Requesting, running and finishing an export: one ExportRecord per bundle, audited at each step.

A request checks the permission (cases.export_case for case bundles and SAR packages, audit.export_audit for
the audit trail and transactions) and a session verified with a second factor, records the export, then
builds the bundle at once (small ones) or in a job with progress (export_run_task: on a worker, or on the web
process's background thread in the embedded default), to be downloaded when done. Each kind's builder writes
the members; this module writes the manifest around them.
"""

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import actor_label, audit_log, chain_of
from evidence.bundles import BundleResult, BundleWriter
from evidence.keys import signing_key_available
from evidence.models import ExportRecord
from kernel.background import long_task_send
from kernel.errors import Conflict
from kernel.heartbeats import heartbeating, lost_worker_reason, stale_before
from kernel.mfa import require_second_factor
from organisations.context import current_organisation_id, organisation_context

logger = logging.getLogger(__name__)

Kind = ExportRecord.Kind
Status = ExportRecord.Status

PERMISSION_FOR_KIND = {
    Kind.CASE: "cases.export_case",
    Kind.SAR: "cases.export_case",
    Kind.AUDIT: "audit.export_audit",
    Kind.TRANSACTIONS: "audit.export_audit",
}
PROGRESS_EVERY = 2000  # items between progress updates (one UPDATE each)

# kind -> builder(bundle, record, progress) -> (manifest subject, extra manifest fields); filled by the
# builder modules (evidence.services.case_bundle, .trails) when evidence.services is imported.
BUILDERS: dict[str, Callable] = {}


def export_builder(*kinds: str):
    def register(builder: Callable) -> Callable:
        for kind in kinds:
            BUILDERS[kind] = builder
        return builder

    return register


def check_export(*, kind: str, actor) -> None:
    """Raise PermissionDenied unless `actor` may export bundles of `kind` now."""
    permission = PERMISSION_FOR_KIND[kind]
    if not (getattr(actor, "is_authenticated", False) and actor.is_active and actor.has_perm(permission)):
        raise PermissionDenied(f"You need the {permission} permission to export this.")
    require_second_factor(actor, action="Exporting evidence")
    if not signing_key_available():
        raise Conflict(
            "Exports are not set up here: EXPORT_SIGNING_KEY_PATH holds no signing key (docs/exports.md).",
            code="exports_not_configured",
        )


def export_request(*, kind: str, subject: str, parameters: dict, actor, total_items: int, inline: bool) -> ExportRecord:
    """Record an export by `actor` and build it now (`inline`) or in a job after commit; returns the record."""
    check_export(kind=kind, actor=actor)
    with transaction.atomic():
        record = ExportRecord.objects.create(
            kind=kind,
            subject=subject[:200],
            parameters=parameters,
            requested_by=actor,
            actor=actor_label(actor),
            total_items=total_items,
        )
        audit_log(
            actor=actor,
            action="export.requested",
            object_type="export",
            object_id=record.pk,
            payload={"kind": kind, "subject": record.subject, "parameters": parameters},
        )
        if not inline:
            transaction.on_commit(lambda: export_enqueue(record_id=record.pk), robust=True)
    if inline:
        export_run(record_id=record.pk)
        record.refresh_from_db()
    return record


def export_enqueue(*, record_id: int) -> None:
    from evidence.tasks import export_run_task

    long_task_send(export_run_task, record_id)


def export_run(*, record_id: int) -> ExportRecord | None:
    """Build the bundle of a queued export (the job, or inline); one already running or finished is left as it
    is (a task delivered twice builds once; a run whose worker was lost is the stale-job sweep's)."""
    record = ExportRecord.objects.for_all_organisations().select_related("organisation").filter(pk=record_id).first()
    if record is None or record.is_finished:
        return record
    with organisation_context(record.organisation):
        return _run(record)


def _run(record: ExportRecord) -> ExportRecord:
    now = timezone.now()
    claimed = ExportRecord.objects.filter(pk=record.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return record
    try:
        # A bundle's members may take minutes to write between progress reports: the beat shows it is alive.
        with heartbeating(ExportRecord, record.pk):
            result = bundle_write(
                kind=record.kind,
                path=export_path(record),
                build=lambda bundle: BUILDERS[record.kind](bundle=bundle, record=record, progress=_progress(record)),
                exporter=record.actor,
            )
    except Exception as exc:
        logger.exception("export %s failed", record.pk)
        ExportRecord.objects.filter(pk=record.pk).update(
            status=Status.FAILED, finished_at=timezone.now(), failure=f"{type(exc).__name__}: {exc}"
        )
        audit_log(
            actor="system",
            action="export.failed",
            object_type="export",
            object_id=record.pk,
            payload={"kind": record.kind, "reason": type(exc).__name__},
        )
        record.refresh_from_db()
        return record
    export_finish(record=record, result=result, file_name=str(result.path.relative_to(export_root(record))))
    return record


def exports_sweep_stale() -> dict[str, int]:
    """Exports whose worker was lost (running, no heartbeat for JOB_STALE_AFTER_S) fail with the reason and an
    `export.failed` audit event: a bundle is written again from nothing, so it is asked for again rather than
    repeated unasked. Queued exports never started after JOB_STALE_AFTER_S (their task lost, the broker down
    at commit) are queued again. Each is claimed by one conditional UPDATE; runs as system work, across
    organisations."""
    cutoff = stale_before()
    stale = ExportRecord.objects.for_all_organisations().filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    reason = f"{lost_worker_reason()} Ask for the export again."
    failed = 0
    for record in list(stale.filter(status=Status.RUNNING).select_related("organisation")):
        claimed = stale.filter(pk=record.pk, status=Status.RUNNING).update(
            status=Status.FAILED, finished_at=timezone.now(), failure=reason
        )
        if not claimed:
            continue  # it beat since, or another sweep took it
        with organisation_context(record.organisation):
            audit_log(
                actor="system",
                action="export.failed",
                object_type="export",
                object_id=record.pk,
                payload={"kind": record.kind, "reason": "worker_lost"},
            )
        failed += 1
    requeued = 0
    for record_id in list(stale.filter(status=Status.QUEUED).values_list("pk", flat=True)):
        if not stale.filter(pk=record_id, status=Status.QUEUED).update(heartbeat_at=timezone.now()):
            continue
        try:
            export_enqueue(record_id=record_id)
        except Exception:  # the broker is down: the next sweep after JOB_STALE_AFTER_S tries again
            logger.warning("export %s: could not queue it again", record_id, exc_info=True)
            continue
        requeued += 1
    return {"exports_requeued": requeued, "exports_failed": failed}


def export_finish(*, record: ExportRecord, result: BundleResult, file_name: str) -> None:
    """Mark `record` done with its bundle's hash, size and key, and audit it."""
    record.status = Status.DONE
    record.file_name = file_name
    record.sha256 = result.sha256
    record.size_bytes = result.size_bytes
    record.key_id = result.key_id
    record.finished_at = timezone.now()
    record.processed_items = max(record.processed_items, record.total_items)
    with transaction.atomic():
        record.save(
            update_fields=["status", "file_name", "sha256", "size_bytes", "key_id", "finished_at", "processed_items"]
        )
        audit_log(
            actor=record.actor or "system",
            action="export.completed",
            object_type="export",
            object_id=record.pk,
            payload={
                "kind": record.kind,
                "subject": record.subject,
                "sha256": result.sha256,
                "size_bytes": result.size_bytes,
                "key_id": result.key_id,
            },
        )


def bundle_write(*, kind: str, path: Path, build: Callable, exporter: str) -> BundleResult:
    """Write one bundle at `path`: `build(bundle)` adds the members and returns (subject, extra manifest
    fields); the manifest records the organisation and the audit chain head as the bundle is signed."""
    from organisations.context import current_organisation

    organisation = current_organisation()
    with BundleWriter(path) as bundle:
        subject, extra = build(bundle)
        return bundle.finish(
            kind=kind,
            subject=subject,
            organisation=organisation.slug if organisation else "",
            exporter=exporter,
            chain_head=chain_head(),
            extra=extra,
        )


def chain_head() -> dict | None:
    """The newest event of the current organisation's audit chain: what the bundle was taken against."""
    head = chain_of(current_organisation_id()).order_by("-id").values("id", "hash").first()
    return {"id": head["id"], "hash": head["hash"]} if head else None


def export_root(record: ExportRecord) -> Path:
    return Path(settings.ARCHIVE_PATH if record.is_archive else settings.EXPORT_PATH)


PLATFORM_FOLDER = "_platform"  # the platform's own bundles (the archive of its audit chain)


def export_path(record: ExportRecord) -> Path:
    organisation = record.organisation.slug if record.organisation_id else PLATFORM_FOLDER
    stamp = record.created_at.strftime("%Y%m%dT%H%M%SZ")
    safe_subject = "".join(c if c.isalnum() or c in "-_" else "-" for c in record.subject)[:60]
    return export_root(record) / organisation / f"{stamp}-{record.kind}-{safe_subject}-{record.pk}.zip"


def export_file(record: ExportRecord) -> Path | None:
    """The finished bundle's file, or None when it is not there (not done, or removed from disk)."""
    if record.status != Status.DONE or not record.file_name:
        return None
    path = export_root(record) / record.file_name
    return path if path.is_file() else None


def export_downloaded(*, record: ExportRecord, actor) -> None:
    """Every download of a bundle is in the audit trail too."""
    audit_log(
        actor=actor,
        action="export.downloaded",
        object_type="export",
        object_id=record.pk,
        payload={"kind": record.kind, "sha256": record.sha256},
    )


def _progress(record: ExportRecord) -> Callable[[int], None]:
    """progress(n): n items written so far; recorded (with a heartbeat) every PROGRESS_EVERY items."""
    last = [0]

    def report(processed: int) -> None:
        if processed - last[0] >= PROGRESS_EVERY:
            last[0] = processed
            ExportRecord.objects.filter(pk=record.pk).update(processed_items=processed, heartbeat_at=timezone.now())

    return report
