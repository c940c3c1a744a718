"""Several workers at once on PostgreSQL: fan-out makes one delivery per event, and each is POSTed once."""

from collections import Counter

import pytest

from conftest import run_in_threads
from delivery.models import Delivery, OutboxEvent
from delivery.services import callback_endpoint_create, deliveries_fan_out, delivery_send
from delivery.tests import callback_receiver
from finobs.celery import app

allow_private = callback_receiver.allow_private  # fixture
receiver = callback_receiver.receiver  # fixture
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WORKERS = 4


@pytest.fixture
def sends_only_enqueued(settings):
    """Fan-out only enqueues its sends (dropped afterwards): the threads below drive them. Through the setting
    the Celery app reads on each use (assigning the app's conf would outlive the test)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    yield
    app.control.purge()


def test_concurrent_fan_out_and_sends_deliver_each_event_exactly_once(receiver, allow_private, sends_only_enqueued):
    endpoint, _ = callback_endpoint_create(name="hooks", url=receiver.url, event_types=["*"], actor="tests")
    OutboxEvent.objects.bulk_create(OutboxEvent(event_type="case.opened", payload={"n": n}) for n in range(60))

    created = run_in_threads(lambda _: deliveries_fan_out(), WORKERS)
    assert sum(created) == 60
    assert Delivery.objects.filter(endpoint=endpoint).count() == 60

    ids = list(Delivery.objects.order_by("id").values_list("pk", flat=True))
    # every worker tries every delivery
    outcomes = run_in_threads(lambda _: Counter(delivery_send(delivery_id=pk) for pk in ids), WORKERS)
    total = sum(outcomes, Counter())
    assert total["delivered"] == 60 and total["skipped"] == 60 * (WORKERS - 1)
    assert receiver.count() == 60
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 60
