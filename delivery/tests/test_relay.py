"""The outbox relay: compact hints in id order, published only once the layer took them; pruning."""

import asyncio
import socket
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from conftest import default_organisation, suspicious_record, thread_in_this_context, transaction_record
from delivery.feed import decisions_group
from delivery.models import OutboxEvent
from delivery.services import outbox_append
from delivery.services.relay import outbox_prune, outbox_relay
from ingestion.services import ingest

pytestmark = pytest.mark.django_db(transaction=True)


def dead_redis_url() -> str:
    """A local port nobody listens on: a Redis that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def listen():
    """A channel in the default organisation's decisions group, and a function that drains what it received."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(decisions_group(default_organisation().pk), channel)

    def drain() -> list[dict]:
        return async_to_sync(_receive_all)(layer, channel)

    return drain


async def _receive_all(layer, channel) -> list[dict]:
    """Everything the channel holds (one event loop: channels-redis binds its buffers to a loop)."""
    messages = []
    while True:
        try:
            messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.3))
        except TimeoutError:
            return messages


def write_events(count: int, *, flagged_every: int = 0) -> list[int]:
    with transaction.atomic():
        rows = outbox_append(
            events=[
                (
                    "decision.created",
                    {
                        "risk_level": "HIGH" if flagged_every and n % flagged_every == 0 else "LOW",
                        "flagged": bool(flagged_every and n % flagged_every == 0),
                        "external_id": f"tx-{n}",
                    },
                )
                for n in range(count)
            ]
        )
    return [row.pk for row in rows]


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_hints_carry_ids_and_filter_fields_not_payloads():
    drain = listen()
    ids = write_events(2500, flagged_every=7)
    OutboxEvent.objects.create(event_type="model.promoted", payload={"version": 2})

    assert outbox_relay() == 2501
    messages = drain()
    assert [m["type"] for m in messages] == ["decisions.published"] * 3  # 1,000 hints per message
    hints = [hint for m in messages for hint in m["events"]]
    assert [hint[0] for hint in hints] == ids  # every decision event once, in id order
    assert all(hint[1:] == (["HIGH", True] if n % 7 == 0 else ["LOW", False]) for n, hint in enumerate(hints))
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    drain_again = listen()
    assert outbox_relay() == 0
    assert drain_again() == []


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_events_stay_unpublished_while_the_layer_is_down_and_go_out_after():
    ids = write_events(3)
    with override_settings(
        CHANNEL_LAYERS={
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead_redis_url()]}}
        }
    ):
        assert outbox_relay() == 0
    pending = OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")
    assert list(pending.values_list("id", flat=True)) == ids
    assert {event.attempts for event in pending} == {1}

    drain = listen()
    assert outbox_relay() == 3
    assert [hint[0] for m in drain() for hint in m["events"]] == ids


def test_ingest_on_a_dead_layer_still_succeeds_and_keeps_the_events(champion):
    with override_settings(
        CHANNEL_LAYERS={
            "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead_redis_url()]}}
        }
    ):
        result = ingest(
            [transaction_record(1), suspicious_record(2)],
            organisation=default_organisation(),
            source="acme",
            actor="tests",
        )
    assert result.accepted == 2
    decisions = OutboxEvent.objects.filter(event_type="decision.created")
    assert decisions.count() == 2 and not decisions.filter(published_at__isnull=False).exists()
    assert outbox_relay() >= 2


@pytest.mark.postgres
@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_relays_skip_rows_another_relay_holds():
    import threading

    ids = write_events(4)
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_relay():
        with transaction.atomic():
            list(OutboxEvent.objects.filter(id__in=ids[:2]).select_for_update())
            held.set()
            release.wait(timeout=30)
        connection.close()
        done.set()

    worker = thread_in_this_context(other_relay)
    worker.start()
    assert held.wait(timeout=10)
    try:
        assert outbox_relay() == 2  # does not wait for the locked rows
        published = set(OutboxEvent.objects.filter(published_at__isnull=False).values_list("id", flat=True))
        assert published == set(ids[2:])
    finally:
        release.set()
        worker.join(timeout=30)
    assert outbox_relay() == 2


def test_prune_deletes_old_published_events_in_chunks():
    now = timezone.now()
    old = now - timedelta(days=8)
    OutboxEvent.objects.bulk_create(
        [OutboxEvent(event_type="decision.created", payload={}, created_at=old, published_at=old) for _ in range(7)]
        + [OutboxEvent(event_type="decision.created", payload={"waits": True}, created_at=old)]
        + [OutboxEvent(event_type="decision.created", payload={"recent": True}, created_at=now, published_at=now)]
    )

    assert outbox_prune(chunk=3) == 7
    remaining = OutboxEvent.objects.order_by("id").values_list("payload", flat=True)
    assert list(remaining) == [{"waits": True}, {"recent": True}]  # never an unpublished or a recent event
    assert outbox_prune(older_than=timedelta(days=30)) == 0


class RelayTasksSent:
    """The outbox relay tasks sent to the broker while the block runs: (kwargs, eta) each."""

    def __enter__(self) -> list[tuple[dict, str | None]]:
        from celery.signals import before_task_publish

        self.sent: list[tuple[dict, str | None]] = []
        before_task_publish.connect(self._count, weak=False)
        return self.sent

    def __exit__(self, *exc) -> None:
        from celery.signals import before_task_publish

        before_task_publish.disconnect(self._count)

    def _count(self, sender=None, body=None, headers=None, **kwargs) -> None:
        from delivery.tasks import outbox_relay_task

        if sender == outbox_relay_task.name:
            self.sent.append((body[1], headers.get("eta")))


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_while_events_keep_coming_one_relay_runs_per_interval_not_one_per_commit():
    from delivery.tasks import outbox_relay_task

    with RelayTasksSent() as sent:
        for _ in range(3):
            write_events(1)
    assert sent == [({"holds_mark": True}, None)]  # the first commit's relay, to run at once

    with RelayTasksSent() as sent:
        assert outbox_relay_task.run(holds_mark=True) == 3
        write_events(2)  # commits after it ran: the next relay is queued already
    [(kwargs, eta)] = sent
    assert kwargs == {"holds_mark": True} and eta is not None  # OUTBOX_RELAY_BUSY_INTERVAL_MS later

    with RelayTasksSent() as sent:
        assert outbox_relay_task.run(holds_mark=True) == 2
        assert outbox_relay_task.run(holds_mark=True) == 0  # the traffic stopped: the mark goes
    assert len(sent) == 1
    with RelayTasksSent() as sent:
        write_events(1)
    assert sent == [({"holds_mark": True}, None)]  # a lone event is relayed at once again


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_events_committed_while_an_empty_relay_held_the_mark_get_a_relay():
    from delivery.services.outbox import _mark_relay_queued, outbox_relay_holding_mark

    assert _mark_relay_queued()  # as a commit's enqueue left it
    committed = []

    def relay_while_a_commit_lands() -> int:
        published = outbox_relay()  # reads an empty outbox
        committed.extend(write_events(1))  # a commit sees the mark and queues nothing
        return published

    with RelayTasksSent() as sent:
        assert outbox_relay_holding_mark(relay=relay_while_a_commit_lands) == 0
    assert sent == [({"holds_mark": True}, None)]
    assert list(OutboxEvent.objects.filter(published_at__isnull=True).values_list("id", flat=True)) == committed


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_a_relay_on_a_dead_layer_queues_no_other():
    from delivery.services.outbox import _mark_relay_queued, outbox_relay_holding_mark

    ids = write_events(2)
    with (
        override_settings(
            CHANNEL_LAYERS={
                "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead_redis_url()]}}
            }
        ),
        RelayTasksSent() as sent,
    ):
        assert outbox_relay_holding_mark(relay=outbox_relay) == 0
    assert sent == []  # no loop of relays that cannot publish: beat retries
    assert list(OutboxEvent.objects.filter(published_at__isnull=True).values_list("id", flat=True)) == ids
    assert _mark_relay_queued()  # the mark is clear: the next commit queues a relay


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_a_relay_that_fails_clears_the_mark():
    from delivery.services.outbox import _mark_relay_queued, outbox_relay_holding_mark

    assert _mark_relay_queued()

    def failing_relay() -> int:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        outbox_relay_holding_mark(relay=failing_relay)
    assert _mark_relay_queued()  # the next commit queues a relay instead of waiting for the mark to expire
