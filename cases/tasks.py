"""Cases' Celery tasks."""

from celery import shared_task

from cases.services.investigations import investigation_run, investigations_continuous
from cases.services.live import send_hints
from organisations.context import for_each_organisation


@shared_task(ignore_result=True)
def send_case_hints_task(sends: list[list]) -> None:
    """Live hints of a big change (an ingest batch's cases) to the workspace's WebSocket groups."""
    send_hints([(group, message) for group, message in sends])


@shared_task(ignore_result=True, acks_late=True)
def investigation_run_task(investigation_id: int) -> None:
    """Run one queued investigation (claimed once, however often the message arrives)."""
    investigation_run(investigation_id=investigation_id)


@shared_task(ignore_result=True)
def investigations_continuous_task() -> None:
    """Beat: each organisation's severe cases without a recent investigation, within its budget per run."""
    for_each_organisation(lambda organisation: investigations_continuous())
