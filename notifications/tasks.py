"""Notifications' Celery tasks: thin wrappers of the email services."""

from celery import shared_task

from notifications.services import notification_digests_send, notification_email_send


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def notification_email_task(notification_id: int) -> None:
    notification_email_send(notification_id=notification_id)


@shared_task(ignore_result=True)
def notification_digests_task() -> None:
    notification_digests_send()
