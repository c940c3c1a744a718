"""scoring.signals.publish: other apps' events land in the outbox inside their own transaction."""

import pytest
from django.db import transaction

from ingestion.models import OutboxEvent
from scoring.signals import publish

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


def test_commits_while_a_relay_is_queued_enqueue_no_other(settings, django_capture_on_commit_callbacks):
    from celery.signals import before_task_publish
    from django.db import transaction

    from ingestion.services import append_events
    from ingestion.tasks import outbox_relay_task

    settings.CELERY_TASK_ALWAYS_EAGER = False  # the relay waits in the (in-memory) queue
    published = []

    def count(sender=None, **kwargs):
        if sender == outbox_relay_task.name:
            published.append(sender)

    before_task_publish.connect(count, weak=False)
    try:
        for n in range(3):
            with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
                append_events([("decision.created", {"n": n})])
        assert len(published) == 1  # the queued relay will read all three
        outbox_relay_task.run()  # a worker starts it: later commits need a relay of their own
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            append_events([("decision.created", {"n": 3})])
        assert len(published) == 2
    finally:
        before_task_publish.disconnect(count)
