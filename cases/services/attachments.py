"""Attaching files to a case or a comment, scanning them, and handing them out only when their hash holds.

A file is refused before anything is stored when its extension is not allowed, it is empty or over
ATTACHMENT_MAX_BYTES, or its content (sniffed by libmagic) is not what its extension and declared type
say. Its bytes go to the attachments storage under their SHA-256 (the same bytes are stored once); the
row, the timeline entry, the audit event and the outbox event are written in one transaction. Every
download reads the stored bytes once, re-computing their hash into a temporary file, and serves that file
only when the hash matches the one recorded at upload.
"""

import hashlib
import os
import tempfile
import unicodedata
from collections.abc import Iterator
from datetime import timedelta

import magic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from audit.services import audit_log
from cases.models import Attachment, Case, CaseEvent, Comment, storage_key
from cases.scanning import scan, scanner_name
from cases.services.comments import case_comment
from cases.services.lifecycle import lock_case, record_change, require_perm
from kernel.errors import Conflict

READ_CHUNK_BYTES = 64 * 1024
SPOOL_IN_MEMORY_BYTES = 1024 * 1024  # a verified download larger than this waits on disk, not in memory
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-download"})


class AttachmentIntegrityError(Conflict):
    """The stored bytes no longer hash to what was recorded at upload: they are never served."""


def storage():
    return storages["attachments"]


def _clean_name(name: str) -> str:
    base = os.path.basename(str(name).replace("\\", "/"))
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    return base.strip()[:255]


def _digest(upload) -> tuple[str, int, bytes]:
    """SHA-256, size and first bytes of an upload: from the streaming handler when it ran, else chunk by chunk."""
    if getattr(upload, "sha256", None) is not None:
        return upload.sha256, upload.size, upload.head
    sha, size, head = hashlib.sha256(), 0, b""
    for chunk in upload.chunks(READ_CHUNK_BYTES):
        sha.update(chunk)
        size += len(chunk)
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
    upload.seek(0)
    return sha.hexdigest(), size, head


def check_attachment(case: Case, *, name: str, declared_type: str, size: int, head: bytes, actor) -> str:
    """Refuse what may not be attached; returns the sniffed content type."""
    require_perm(actor, "cases.add_attachment")
    require_perm(actor, "cases.work_case")
    if not case.is_open:
        raise Conflict("A closed case takes no more attachments.", code="case_closed")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = [e.lower() for e in settings.ATTACHMENT_EXTENSIONS]
    if not name or extension not in allowed:
        raise ValidationError(
            {"file": f"Files of type .{extension or '?'} cannot be attached; allowed: {', '.join(allowed)}."},
            code="extension_not_allowed",
        )
    if size <= 0:
        raise ValidationError({"file": "The file is empty."}, code="empty")
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            {"file": f"The file is {size} bytes; attachments are at most {settings.ATTACHMENT_MAX_BYTES} bytes."},
            code="too_large",
        )
    expected = {t.lower() for t in settings.ATTACHMENT_TYPES.get(extension, [])}
    sniffed = magic.from_buffer(head, mime=True).lower()
    declared = (declared_type or "").split(";")[0].strip().lower()
    if expected and sniffed not in expected:
        raise ValidationError(
            {"file": f"{name} is named .{extension} but its content is {sniffed}; rename it or attach the original."},
            code="type_mismatch",
        )
    if declared not in GENERIC_TYPES and declared != sniffed and (not expected or declared not in expected):
        raise ValidationError(
            {"file": f"{name} was sent as {declared} but its content is {sniffed}."}, code="type_mismatch"
        )
    return sniffed


def refuse_oversized(refused: dict[str, int]) -> None:
    """The streaming handler stopped a file at the size limit: say so as check_attachment would."""
    if refused:
        name = next(iter(refused))
        raise ValidationError(
            {"file": f"{name} is over the limit: attachments are at most {settings.ATTACHMENT_MAX_BYTES} bytes."},
            code="too_large",
        )


def _store(upload, sha256: str) -> str:
    """Put the bytes under their content address once; never overwrite (the same key holds the same bytes)."""
    key = storage_key(sha256)
    files = storage()
    if not files.exists(key):
        saved = files.save(key, upload)
        if saved != key:  # another upload of the same bytes won the race: keep one copy
            files.delete(saved)
    return key


def attachment_add(*, case: Case, upload, actor, comment: Comment | None = None) -> Attachment:
    """Attach `upload` (a Django UploadedFile) to `case`, or to one of its comments."""
    name = _clean_name(upload.name)
    sha256, size, head = _digest(upload)
    declared = getattr(upload, "content_type", "") or ""
    sniffed = check_attachment(case, name=name, declared_type=declared, size=size, head=head, actor=actor)
    if comment is not None and comment.case_id != case.pk:
        raise ValidationError({"comment": "That comment is not on this case."}, code="invalid")
    key = _store(upload, sha256)
    is_scanned_now = scanner_name() == "none"
    with transaction.atomic():
        case = lock_case(case)
        check_attachment(case, name=name, declared_type=declared, size=size, head=head, actor=actor)
        now = timezone.now()
        attachment = Attachment.objects.create(
            case=case,
            comment=comment,
            sha256=sha256,
            key=key,
            size_bytes=size,
            original_name=name,
            declared_type=declared[:127],
            sniffed_type=sniffed[:127],
            scan_status=Attachment.ScanStatus.CLEAN if is_scanned_now else Attachment.ScanStatus.PENDING,
            scanner=scanner_name(),
            scanned_at=now if is_scanned_now else None,
            uploaded_by=actor,
            uploaded_at=now,
        )
        record_change(
            case,
            kind=CaseEvent.Kind.ATTACHED,
            actor=actor,
            data=_data(attachment),
            action="case.attachment_added",
        )
        if not is_scanned_now:
            from cases.tasks import attachment_scan_task

            transaction.on_commit(lambda: attachment_scan_task.delay(attachment.pk))
    return attachment


def attachments_add(*, case: Case, files, actor, body: str = "") -> list[Attachment]:
    """Attach several files at once, all or nothing; with a `body`, to a new comment saying what they are."""
    if not files:
        raise ValidationError({"file": "Choose a file to attach."}, code="required")
    with transaction.atomic():
        comment = case_comment(case=case, body=body, author=actor) if body.strip() else None
        return [attachment_add(case=case, upload=upload, actor=actor, comment=comment) for upload in files]


def _data(attachment: Attachment) -> dict:
    return {
        "attachment_id": attachment.pk,
        "name": attachment.original_name,
        "sha256": attachment.sha256,
        "size_bytes": attachment.size_bytes,
        "sniffed_type": attachment.sniffed_type,
        "on_comment_id": attachment.comment_id,
        "scan_status": attachment.scan_status,
    }


def attachment_verified_chunks(attachment: Attachment, *, actor) -> Iterator[bytes]:
    """The stored bytes of `attachment`, chunk by chunk, for a caller that holds them back until the end (a
    download, a bundle): once they are read, a file that is missing or no longer matches the SHA-256 recorded
    when it was attached raises AttachmentIntegrityError, and the failure is audited."""
    sha = hashlib.sha256()
    try:
        for chunk in _stored_chunks(attachment):
            sha.update(chunk)
            yield chunk
    except FileNotFoundError:
        sha = None
    if sha is None or sha.hexdigest() != attachment.sha256:
        audit_log(
            actor=actor,
            action="attachment.integrity_failed",
            object_type="case",
            object_id=attachment.case.reference,
            payload={**_data(attachment), "found": sha.hexdigest() if sha else None},
        )
        raise AttachmentIntegrityError(
            f"{attachment.original_name} does not match the SHA-256 recorded when it was attached; it is not "
            "served. The integrity failure is in the audit trail.",
            code="attachment_integrity",
            details={"sha256": attachment.sha256},
        )


def _stored_chunks(attachment: Attachment):
    with storage().open(attachment.key, "rb") as stored:
        while chunk := stored.read(READ_CHUNK_BYTES):
            yield chunk


def attachment_scan(*, attachment_id: int) -> Attachment | None:
    """Give a pending attachment the scanner's verdict (the scan task). Raises ScannerUnavailable to be retried."""
    attachment = Attachment.objects.filter(pk=attachment_id).first()
    if attachment is None or attachment.scan_status != Attachment.ScanStatus.PENDING:
        return attachment
    verdict = scan(_stored_chunks(attachment))
    with transaction.atomic():
        attachment = Attachment.objects.select_for_update().get(pk=attachment_id)
        if attachment.scan_status != Attachment.ScanStatus.PENDING:
            return attachment
        attachment.scan_status = Attachment.ScanStatus.INFECTED if verdict.is_infected else Attachment.ScanStatus.CLEAN
        attachment.scan_detail = verdict.detail[:255]
        attachment.scanned_at = timezone.now()
        attachment.save(update_fields=["scan_status", "scan_detail", "scanned_at"])
        record_change(
            lock_case(attachment.case),
            kind=CaseEvent.Kind.ATTACHMENT_SCANNED,
            actor=f"system:{attachment.scanner}",
            data={**_data(attachment), "detail": attachment.scan_detail},
            action="case.attachment_scanned",
        )
    return attachment


def attachments_pending_scan(*, older_than_s: int = 600) -> list[int]:
    """Attachments still waiting for a verdict long after their upload (the scanner was down past the task's
    retries, or the task was lost): the sweep queues their scan again."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    pending = Attachment.objects.filter(scan_status=Attachment.ScanStatus.PENDING, uploaded_at__lt=cutoff)
    return list(pending.order_by("id").values_list("id", flat=True)[:1000])


def attachment_open(*, attachment: Attachment, actor):
    """The attachment's bytes, verified against their recorded SHA-256, as an open temporary file.

    The caller has checked that `actor` may see the case. Pending and infected files are refused, and so is
    a file whose stored bytes no longer match (that refusal is audited: the evidence was altered).
    """
    require_perm(actor, "cases.view_attachment")
    if attachment.scan_status == Attachment.ScanStatus.INFECTED:
        raise Conflict(
            f"{attachment.original_name} was found infected ({attachment.scan_detail}) and cannot be downloaded.",
            code="attachment_infected",
        )
    if attachment.scan_status != Attachment.ScanStatus.CLEAN:
        raise Conflict(
            f"{attachment.original_name} is waiting for its malware scan; try again shortly.",
            code="attachment_pending",
        )
    verified = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 (the response closes it)
    try:
        for chunk in attachment_verified_chunks(attachment, actor=actor):
            verified.write(chunk)
    except AttachmentIntegrityError:
        verified.close()
        raise
    verified.seek(0)
    audit_log(
        actor=actor,
        action="attachment.downloaded",
        object_type="case",
        object_id=attachment.case.reference,
        payload=_data(attachment),
    )
    return verified
