"""Delivery's business operations (the only code that writes its tables), by concept:

outbox.py              append events in the writer's transaction; ask for the relay after commit
relay.py               publish the outbox to the live feed, queue explanations, fan out to callbacks, prune
callbacks.py           deliveries: fan-out, signed sends, retries, dead letters, breaker, redelivery
callback_endpoints.py  endpoints: create, update, rotate the secret, delete
"""

from delivery.services.callback_endpoints import (
    callback_endpoint_create,
    callback_endpoint_delete,
    callback_endpoint_rotate_secret,
    callback_endpoint_update,
)
from delivery.services.callbacks import (
    DeliveryInFlight,
    deliveries_enqueue_due,
    deliveries_fan_out,
    deliveries_send,
    delivery_redeliver,
    delivery_send,
)
from delivery.services.outbox import outbox_append, outbox_append_decisions, outbox_relay_enqueue
from delivery.services.relay import outbox_prune, outbox_relay

__all__ = [
    "DeliveryInFlight",
    "callback_endpoint_create",
    "callback_endpoint_delete",
    "callback_endpoint_rotate_secret",
    "callback_endpoint_update",
    "deliveries_enqueue_due",
    "deliveries_fan_out",
    "deliveries_send",
    "delivery_redeliver",
    "delivery_send",
    "outbox_append",
    "outbox_append_decisions",
    "outbox_prune",
    "outbox_relay",
    "outbox_relay_enqueue",
]
