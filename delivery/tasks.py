"""Celery tasks of delivery: thin wrappers over services. Each is idempotent, so acks_late is safe."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def outbox_relay_task(holds_mark: bool = False) -> int:
    """Publish the outbox: beat's catch-up run, or (holds_mark) one queued under the relay mark."""
    from delivery.services.outbox import outbox_relay_holding_mark
    from delivery.services.relay import outbox_relay

    if not holds_mark:
        return outbox_relay()
    return outbox_relay_holding_mark(relay=outbox_relay)


@shared_task(acks_late=True, ignore_result=True)
def outbox_prune_task() -> int:
    from delivery.services.relay import outbox_prune

    return outbox_prune()


# Sends claim their delivery row first, so a redelivered task sends nothing twice.
@shared_task(acks_late=True, ignore_result=True)
def delivery_send_task(delivery_id: int) -> str:
    from delivery.services.callbacks import delivery_send

    return delivery_send(delivery_id=delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def deliveries_send_task(delivery_ids: list[int]) -> dict:
    from delivery.services.callbacks import deliveries_send

    return deliveries_send(delivery_ids=delivery_ids)


@shared_task(acks_late=True, ignore_result=True)
def deliveries_enqueue_due_task() -> int:
    from delivery.services.callbacks import deliveries_enqueue_due

    return deliveries_enqueue_due()
