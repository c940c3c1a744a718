"""Fan-out: outbox events become one delivery per matching endpoint, once, without history, late commits included."""

import pytest
from django.test import override_settings

from apikeys.services import api_key_create, api_key_revoke
from conftest import default_organisation
from delivery.models import Delivery, OutboxEvent
from delivery.services import callback_endpoint_create, callback_endpoint_update, deliveries_fan_out, outbox_append
from delivery.services.relay import outbox_relay
from delivery.tests import callback_receiver

allow_private = callback_receiver.allow_private  # fixture
pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9/hooks"


def endpoint(event_types, **extra):
    created, _ = callback_endpoint_create(name="hooks", url=URL, event_types=event_types, actor="tests", **extra)
    return created


def delivered_types(endpoint) -> list[str]:
    return list(Delivery.objects.filter(endpoint=endpoint).order_by("event_id").values_list("event_type", flat=True))


EVENTS = [
    ("decision.created", {"external_id": "tx-1", "flagged": False}),
    ("decision.created", {"external_id": "tx-2", "flagged": True}),
    ("case.opened", {"reference": "CASE-1"}),
    ("case.closed", {"reference": "CASE-1"}),
    ("model.promoted", {"version": 2}),
]


def test_each_endpoint_gets_the_event_types_it_asked_for(allow_private):
    everything = endpoint(["*"])
    cases = endpoint(["case.*"])
    flagged = endpoint(["decision.created", "model.promoted"], flagged_only=True)
    nothing_yet = endpoint(["experiment.started"])
    outbox_append(events=EVENTS)
    assert deliveries_fan_out() == 5 + 2 + 2
    assert delivered_types(everything) == [t for t, _ in EVENTS]
    assert delivered_types(cases) == ["case.opened", "case.closed"]
    assert delivered_types(flagged) == ["decision.created", "model.promoted"]
    assert Delivery.objects.get(endpoint=flagged, event_type="decision.created").event.payload["external_id"] == "tx-2"
    assert delivered_types(nothing_yet) == []


def test_fanning_out_again_creates_nothing_new(allow_private, settings):
    settings.CALLBACK_FANOUT_SETTLE_S = 3600  # the cursor stays behind: every run re-scans the same events
    hooks = endpoint(["*"])
    outbox_append(events=EVENTS)
    assert deliveries_fan_out() == 5
    assert deliveries_fan_out() == 0
    hooks.refresh_from_db()
    assert hooks.last_event_id < OutboxEvent.objects.latest("id").id
    assert Delivery.objects.filter(endpoint=hooks).count() == 5
    assert len(set(Delivery.objects.values_list("webhook_id", flat=True))) == 5


def test_the_cursor_passes_settled_events(allow_private, settings):
    settings.CALLBACK_FANOUT_SETTLE_S = 0
    hooks = endpoint(["case.*"])
    outbox_append(events=EVENTS)
    deliveries_fan_out()
    hooks.refresh_from_db()
    assert hooks.last_event_id == OutboxEvent.objects.latest("id").id  # non-matching events are passed too


def test_an_event_committed_late_with_a_lower_id_is_still_delivered(allow_private, settings):
    settings.CALLBACK_FANOUT_SETTLE_S = 30
    hooks = endpoint(["*"])
    outbox_append(events=[("case.opened", {"reference": "CASE-2"})])
    newest = OutboxEvent.objects.latest("id")
    late = newest.id + 1
    OutboxEvent.objects.create(id=late + 1, event_type="case.closed", payload={"reference": "CASE-2"})
    assert deliveries_fan_out() == 2
    # a slower transaction commits an event with a lower id only now
    OutboxEvent.objects.create(id=late, event_type="case.updated", payload={"reference": "CASE-2"})
    assert deliveries_fan_out() == 1
    assert delivered_types(hooks) == ["case.opened", "case.updated", "case.closed"]


def test_the_per_run_batch_cap_still_reaches_every_event(allow_private, settings):
    settings.CALLBACK_FANOUT_BATCH = 2
    hooks = endpoint(["*"])
    outbox_append(events=EVENTS)
    assert deliveries_fan_out() == 5
    assert len(delivered_types(hooks)) == 5


def test_a_new_endpoint_does_not_receive_history(allow_private):
    outbox_append(events=EVENTS)
    hooks = endpoint(["*"])
    assert deliveries_fan_out() == 0
    outbox_append(events=[("case.opened", {"reference": "CASE-3"})])
    assert deliveries_fan_out() == 1
    assert delivered_types(hooks) == ["case.opened"]


def test_inactive_endpoints_and_revoked_keys_get_nothing_and_reactivation_starts_now(allow_private):
    paused = endpoint(["*"], is_active=False)
    key, _ = api_key_create(organisation=default_organisation(), name="gone", source="gone", scopes=["callbacks"])
    revoked = endpoint(["*"], api_key=key)
    api_key_revoke(key=key)
    outbox_append(events=EVENTS)
    assert deliveries_fan_out() == 0
    callback_endpoint_update(endpoint=paused, actor="tests", is_active=True)
    outbox_append(events=[("case.opened", {"reference": "CASE-4"})])
    assert deliveries_fan_out() == 1
    assert delivered_types(paused) == ["case.opened"]
    assert delivered_types(revoked) == []


@override_settings(
    CHANNEL_LAYERS={
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
)
def test_the_relay_fans_out_callbacks_while_the_channel_layer_is_down(allow_private):
    hooks = endpoint(["decision.created"])
    outbox_append(events=EVENTS[:2])
    assert outbox_relay() == 0  # the layer refused: nothing published to the streams
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 2
    assert delivered_types(hooks) == ["decision.created", "decision.created"]


def test_prune_takes_delivered_callbacks_with_their_event_and_keeps_the_dead_letter_queue(allow_private):
    from datetime import timedelta

    from django.utils import timezone

    from delivery.services.relay import outbox_prune

    hooks = endpoint(["*"])
    old = timezone.now() - timedelta(days=30)
    events = OutboxEvent.objects.bulk_create(
        [OutboxEvent(event_type="case.opened", payload={"n": n}, created_at=old, published_at=old) for n in range(3)]
    )
    statuses = [Delivery.Status.DELIVERED, Delivery.Status.DEAD, Delivery.Status.RETRYING]
    Delivery.objects.bulk_create(
        [
            Delivery(endpoint=hooks, event=event, event_type=event.event_type, webhook_id=f"msg_{event.pk}", status=st)
            for event, st in zip(events, statuses, strict=True)
        ]
    )
    assert outbox_prune() == 1
    assert list(OutboxEvent.objects.order_by("id").values_list("payload", flat=True)) == [{"n": 1}, {"n": 2}]
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["dead", "retrying"]


def test_an_integrators_endpoint_gets_its_own_sources_decisions_only(allow_private):
    key, _raw = api_key_create(
        organisation=default_organisation(), name="acme hooks", source="acme", scopes=["callbacks"]
    )
    theirs = endpoint(["*"], api_key=key)
    ours = endpoint(["*"])
    outbox_append(
        events=[
            ("decision.created", {"external_id": "a-1", "source": "acme", "flagged": True}),
            ("decision.created", {"external_id": "o-1", "source": "other-bank", "flagged": True}),
            ("case.opened", {"reference": "CASE-1"}),
        ]
    )
    deliveries_fan_out()
    assert delivered_types(theirs) == ["decision.created"]
    assert Delivery.objects.get(endpoint=theirs).event.payload["external_id"] == "a-1"
    assert delivered_types(ours) == ["decision.created", "decision.created", "case.opened"]
