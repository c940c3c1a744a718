"""Cases' Celery tasks."""

from celery import shared_task

from cases.scanning import ScannerUnavailable
from cases.services.assignment import cases_auto_assign
from cases.services.attachments import attachment_scan, attachments_pending_scan
from cases.services.investigations import investigation_run, investigations_continuous
from cases.services.live import send_hints
from cases.services.sla import sla_sweep
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


@shared_task(ignore_result=True, acks_late=True)
def cases_auto_assign_task(case_ids: list[int]) -> None:
    """Auto-assign newly opened cases of teams that assign automatically (the sweep catches any missed)."""
    cases_auto_assign(case_ids=case_ids)


@shared_task(ignore_result=True)
def sla_sweep_task() -> None:
    """SLA warnings, breaches and escalations, and auto-assignment of what waits (every organisation)."""
    sla_sweep()


@shared_task(ignore_result=True, acks_late=True)
def investigation_run_task(investigation_id: int) -> None:
    """Run one queued investigation (claimed once, however often the message arrives)."""
    investigation_run(investigation_id=investigation_id)


@shared_task(ignore_result=True)
def investigations_continuous_task() -> None:
    """Beat: each organisation's severe cases without a recent investigation, within its budget per run."""
    for_each_organisation(lambda organisation: investigations_continuous())


@shared_task(acks_late=True)
def attachments_scan_sweep_task() -> int:
    """Queue the scan of every attachment left pending (in each organisation); the scan itself is idempotent."""
    queued = 0
    for ids in for_each_organisation(lambda organisation: attachments_pending_scan()):
        for attachment_id in ids:
            attachment_scan_task.delay(attachment_id)
            queued += 1
    return queued
