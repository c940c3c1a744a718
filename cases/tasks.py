"""Cases' Celery tasks."""

from celery import shared_task

from cases.services.live import send_hints


@shared_task(ignore_result=True)
def send_case_hints_task(sends: list[list]) -> None:
    """Live hints of a big change (an ingest batch's cases) to the workspace's WebSocket groups."""
    send_hints([(group, message) for group, message in sends])
