"""Cases' Celery tasks."""

from celery import shared_task

from cases.scanning import ScannerUnavailable
from cases.services.attachments import attachment_scan, attachments_pending_scan
from cases.services.live import send_hints
from organisations.context import for_each_organisation


@shared_task(ignore_result=True)
def send_case_hints_task(sends: list[list]) -> None:
    """Live hints of a big change (an ingest batch's cases) to the workspace's WebSocket groups."""
    send_hints([(group, message) for group, message in sends])


@shared_task(acks_late=True, autoretry_for=(ScannerUnavailable,), retry_backoff=True, max_retries=8)
def attachment_scan_task(attachment_id: int) -> str | None:
    """The malware scanner's verdict on a pending attachment; retried while the scanner is unreachable."""
    attachment = attachment_scan(attachment_id=attachment_id)
    return attachment.scan_status if attachment is not None else None


@shared_task(acks_late=True)
def attachments_scan_sweep_task() -> int:
    """Queue the scan of every attachment left pending (in each organisation); the scan itself is idempotent."""
    queued = 0
    for ids in for_each_organisation(lambda organisation: attachments_pending_scan()):
        for attachment_id in ids:
            attachment_scan_task.delay(attachment_id)
            queued += 1
    return queued
