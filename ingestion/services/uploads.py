"""CSV uploads: check the file when it arrives, then ingest it in chunks through the one pipeline."""

import csv
import hashlib
import io
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apikeys.models import ApiKey
from audit.services import audit_log
from ingestion.models import PullSource, UploadJob
from ingestion.services.pipeline import ingest
from ingestion.validation import KNOWN_FIELDS
from kernel.heartbeats import lost_worker_reason, resumes_exhausted_reason, stale_before
from organisations.context import organisation_context

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("external_id", "account_id", "amount", "currency", "timestamp")
COLUMNS = (*REQUIRED_COLUMNS, "merchant_id", "merchant_category", "country", "channel")


class UploadRefused(ValueError):
    """The file cannot be ingested at all; the message says why, in words for the person uploading it."""


def check_upload_source(source: str) -> None:
    """Uploads may not write into an integrator's or a pull source's source.

    Duplicates are detected per source: rows uploaded under a partner's source would make that
    partner's real transactions with the same ids arrive as "duplicates" and never be scored.
    """
    if ApiKey.objects.filter(source=source).exists() or PullSource.objects.filter(source=source).exists():
        raise UploadRefused(
            f"The source {source!r} belongs to an integration (API key or pull source); "
            "uploads cannot write into it. Choose another source name."
        )


def upload_create(*, organisation, uploaded_by, name: str, data: bytes, source: str) -> UploadJob:
    """Check the file as a whole and queue it in `organisation`; a refused file leaves nothing behind."""
    check_upload_source(source)
    text, total_rows = check_csv(data)
    with transaction.atomic(), organisation_context(organisation):
        job = UploadJob.objects.create(
            organisation=organisation,
            uploaded_by=uploaded_by,
            source=source,
            original_name=name[:255],
            content=text,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            total_rows=total_rows,
        )
        audit_log(
            actor=uploaded_by,
            action="upload.created",
            object_type="upload_job",
            object_id=job.pk,
            payload={"file": job.original_name, "bytes": job.size_bytes, "rows": total_rows, "source": source},
        )
        # robust: with the broker down the job is stored all the same (and the person sees it queued);
        # the stale-job sweep queues it once it has waited JOB_STALE_AFTER_S.
        transaction.on_commit(lambda: upload_enqueue(job_id=job.pk), robust=True)
    return job


def upload_enqueue(*, job_id: int) -> None:
    """Ask a worker to process (or resume) the job; raises if the broker refuses the message."""
    from ingestion.tasks import upload_process_task

    upload_process_task.delay(job_id)


def check_csv(data: bytes) -> tuple[str, int]:
    """The decoded text and its number of data rows, or UploadRefused with what is wrong."""
    check_size(len(data))
    if not data.strip():
        raise UploadRefused("The file is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRefused(
            f"The file is not UTF-8 text (byte {exc.start} cannot be read). Save it as CSV UTF-8 and upload it again."
        ) from None
    if "\x00" in text:
        raise UploadRefused("The file contains NUL bytes: it is not a CSV text file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        rows = sum(1 for row in reader if any(cell.strip() for cell in row))
    except csv.Error as exc:
        raise UploadRefused(f"The file is not valid CSV: {exc}.") from None
    columns = [c.strip() for c in header or []]
    if not any(columns):
        raise UploadRefused("The first line must be a header naming the columns; it is empty.")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise UploadRefused(
            f"The first line must be a header with the columns {', '.join(REQUIRED_COLUMNS)}; "
            f"missing: {', '.join(missing)}."
        )
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise UploadRefused(f"Columns appear more than once in the header: {', '.join(repeated)}.")
    if rows == 0:
        raise UploadRefused("The file has a header but no rows.")
    return text, rows


def check_size(size_bytes: int) -> None:
    limit = settings.UPLOAD_MAX_BYTES
    if size_bytes > limit:
        raise UploadRefused(f"The file is {_size(size_bytes)}; the limit is {_size(limit)}.")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def upload_process(*, job_id: int) -> UploadJob | None:
    """Ingest the job's rows a chunk at a time, resuming after the rows already processed.

    Each chunk and the job's progress commit in one transaction while the job row is locked, so a
    redelivered or concurrent task continues where the last commit left off and never counts a row
    twice (and the pipeline reports any re-sent record as a duplicate anyway). Runs in the job's organisation.
    """
    job = UploadJob.objects.filter(pk=job_id).select_related("organisation").only("status", "organisation").first()
    if job is None or job.is_finished:
        return job
    with organisation_context(job.organisation):
        return _process(job_id)


def _process(job_id: int) -> UploadJob | None:
    now = timezone.now()
    jobs = UploadJob.objects.filter(pk=job_id)
    jobs.filter(started_at__isnull=True).update(started_at=now)
    jobs.update(heartbeat_at=now)
    jobs.filter(status=UploadJob.Status.QUEUED).update(status=UploadJob.Status.RUNNING)
    chunk_rows = settings.UPLOAD_CHUNK_ROWS
    try:
        rows = _data_rows(UploadJob.objects.values_list("content", flat=True).get(pk=job_id))
        while True:
            with transaction.atomic():
                job = UploadJob.objects.select_for_update().defer("content").get(pk=job_id)
                if job.is_finished:
                    return job
                chunk = rows[job.processed_rows : job.processed_rows + chunk_rows]
                if chunk:
                    _ingest_chunk(job, chunk)
                if not chunk or job.processed_rows >= len(rows):
                    _finish(job)
                    return job
                job.heartbeat_at = timezone.now()
                job.save(update_fields=[*_PROGRESS_FIELDS, "heartbeat_at"])
    except Exception as exc:
        logger.exception("upload %s failed", job_id)
        _fail(job_id, f"{type(exc).__name__}: {exc}")
        raise


def _fail(job_id: int, reason: str) -> int:
    unfinished = UploadJob.objects.filter(pk=job_id, status__in=[UploadJob.Status.QUEUED, UploadJob.Status.RUNNING])
    return unfinished.update(status=UploadJob.Status.FAILED, finished_at=timezone.now(), failure=reason)


def uploads_sweep_stale() -> dict[str, int]:
    """Uploads whose worker was lost (no heartbeat for JOB_STALE_AFTER_S), or whose task was never queued
    (the broker down at commit), are queued again: they resume after their last committed chunk. One
    resumed JOB_MAX_RESUMES times fails instead. Runs as system work, across organisations.

    Each job is claimed by one conditional UPDATE that moves its heartbeat to now: a job that beat in the
    meantime, or that another sweep claimed, is left alone; a job queued again that never starts is
    queued again one JOB_STALE_AFTER_S later.
    """
    cutoff = stale_before()
    stale = UploadJob.objects.filter(status__in=[UploadJob.Status.QUEUED, UploadJob.Status.RUNNING]).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    counts = {"uploads_resumed": 0, "uploads_failed": 0}
    for job_id, resumes, started_at in list(stale.values_list("pk", "resumes", "started_at")):
        if started_at is not None and resumes >= settings.JOB_MAX_RESUMES:
            reason = f"{lost_worker_reason()} {resumes_exhausted_reason(resumes)}"
            counts["uploads_failed"] += stale.filter(pk=job_id).update(
                status=UploadJob.Status.FAILED, finished_at=timezone.now(), failure=reason
            )
            continue
        # Only a job that had started is resumed; one that never started was only queued again.
        resumed = F("resumes") + (0 if started_at is None else 1)
        if not stale.filter(pk=job_id).update(heartbeat_at=timezone.now(), resumes=resumed):
            continue  # it beat since, or another sweep took it
        try:
            upload_enqueue(job_id=job_id)
        except Exception:  # the broker is down: the next sweep after JOB_STALE_AFTER_S tries again
            logger.warning("upload %s: could not queue it again", job_id, exc_info=True)
            continue
        counts["uploads_resumed"] += 1
        logger.warning(
            "upload %s: worker lost or task never queued; queued again (resumed %d times before)", job_id, resumes
        )
    return counts


_PROGRESS_FIELDS = ["processed_rows", "accepted", "duplicates", "invalid", "errors", "errors_not_kept"]


def _data_rows(text: str) -> list[tuple[int, dict]]:
    """(row number, row) for every non-blank data row; 1 = the line after the header, blank lines counted."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(reader)]
    rows = []
    for number, cells in enumerate(reader, start=1):
        if not any(cell.strip() for cell in cells):
            continue
        row = dict(zip(header, cells, strict=False))
        if len(cells) > len(header):
            row[None] = cells[len(header) :]
        rows.append((number, row))
    return rows


def _record(row: dict) -> dict:
    """A CSV row in the public JSON shape: empty optional cells are absent, other columns go to metadata."""
    record: dict = {}
    metadata: dict = {}
    for column, value in row.items():
        if column is None:  # more cells than header columns
            metadata["extra_cells"] = value
            continue
        value = (value or "").strip()
        if column in COLUMNS:
            if value or column in REQUIRED_COLUMNS:
                record[column] = value
        elif column and value and column not in KNOWN_FIELDS:
            metadata[column] = value
    if metadata:
        record["metadata"] = metadata
    return record


def _ingest_chunk(job: UploadJob, chunk: list[tuple[int, dict]]) -> None:
    records = [_record(row) for _, row in chunk]
    result = ingest(records, organisation=job.organisation, source=job.source, actor=job.uploaded_by)
    job.processed_rows += len(chunk)
    job.accepted += result.accepted
    job.duplicates += len(result.duplicates)
    job.invalid += len(result.errors)
    room = max(0, settings.UPLOAD_MAX_ERRORS - len(job.errors))
    errors = [{"row": chunk[e.index][0], "field": e.field, "message": e.message} for e in result.errors]
    job.errors = [*job.errors, *errors[:room]]
    job.errors_not_kept += max(0, len(errors) - room)


def _finish(job: UploadJob) -> None:
    job.status = UploadJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=[*_PROGRESS_FIELDS, "status", "finished_at"])
    audit_log(
        actor=job.uploaded_by,
        action="upload.done",
        object_type="upload_job",
        object_id=job.pk,
        payload={
            "rows": job.processed_rows,
            "accepted": job.accepted,
            "duplicates": job.duplicates,
            "invalid": job.invalid,
            "sha256": job.sha256,
        },
    )
