"""Cases' Celery tasks."""

from celery import shared_task

from cases.scanning import ScannerUnavailable
from cases.services.attachments import attachment_scan
from cases.services.live import send_hints


@shared_task(ignore_result=True)
def send_case_hints_task(sends: list[list]) -> None:
    """Live hints of a big change (an ingest batch's cases) to the workspace's WebSocket groups."""
    send_hints([(group, message) for group, message in sends])


@shared_task(acks_late=True, autoretry_for=(ScannerUnavailable,), retry_backoff=True, max_retries=8)
def attachment_scan_task(attachment_id: int) -> str | None:
    """The malware scanner's verdict on a pending attachment; retried while the scanner is unreachable."""
    attachment = attachment_scan(attachment_id=attachment_id)
    return attachment.scan_status if attachment is not None else None
