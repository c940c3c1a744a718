"""kernel.events.publish: other apps' events land in the outbox inside their own transaction."""

import pytest
from django.db import transaction

from delivery.models import OutboxEvent
from kernel.events import publish

pytestmark = pytest.mark.django_db


def test_published_event_is_written_to_the_outbox():
    publish("model.promoted", {"version": 3})

    event = OutboxEvent.objects.get()
    assert (event.event_type, event.payload, event.published_at) == ("model.promoted", {"version": 3}, None)


def test_event_is_rolled_back_with_the_writer():
    with pytest.raises(RuntimeError), transaction.atomic():
        publish("case.closed", {"reference": "CASE-2026-000001"})
        raise RuntimeError("the writer failed")

    assert not OutboxEvent.objects.exists()
