"""Callbacks end to end: a real ingest through the API, real signed POSTs to a local receiver, the DLQ, redelivery.

With REDIS_URL set the sends go through the broker to a real Celery worker thread; embedded, tasks run
in-process. Either way the test waits for what the receiver got and what the API says.
"""

import json

import pytest
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from apikeys.services import api_key_create
from audit.models import AuditEvent
from conftest import default_organisation, suspicious_record, transaction_record
from delivery.models import Delivery, OutboxEvent
from delivery.services import callback_endpoint_create, deliveries_enqueue_due
from delivery.tasks import deliveries_enqueue_due_task
from delivery.tests import callback_receiver

allow_private = callback_receiver.allow_private  # fixture
receiver = callback_receiver.receiver  # fixture
wait_for = callback_receiver.wait_for
pytestmark = pytest.mark.django_db(transaction=True)


def integrator():
    key, raw = api_key_create(
        organisation=default_organisation(), name="Acme", source="acme", scopes=["ingest", "callbacks"]
    )
    return key, Client(headers={"x-webhook-key": raw})


def register(client, url, event_types, **extra):
    response = client.post(
        "/api/v1/callbacks/",
        {"name": "Acme hooks", "url": url, "event_types": event_types, **extra},
        "application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def ingest(client, records):
    response = client.post("/api/v1/transactions/ingest", json.dumps(records), "application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_real_ingest_reaches_the_receiver_signed(champion, receiver, allow_private, celery_worker_if_queued):
    _, client = integrator()
    endpoint = register(client, receiver.url, ["decision.created"])
    assert endpoint["secret"].startswith("whsec_")
    body = ingest(client, [transaction_record(1), suspicious_record(2, account_id="acc-hooks")])
    assert body["flagged"] == 1

    wait_for(lambda: receiver.count() >= 2, message="two callbacks")
    webhook = Webhook(endpoint["secret"])
    events = []
    for headers, raw in receiver.requests:
        events.append(webhook.verify(raw, headers))  # raises unless the signature matches the exact bytes
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"].startswith("finobs-webhooks/")
        assert headers["webhook-id"].startswith("msg_")
    assert sorted(e["type"] for e in events) == ["decision.created", "decision.created"]
    decisions = {e["data"]["external_id"]: e["data"] for e in events if e["type"] == "decision.created"}
    assert decisions["tx-2"]["flagged"] is True and decisions["tx-1"]["flagged"] is False
    assert decisions["tx-2"]["case_reference"].startswith("CASE-")
    assert all(set(e) == {"type", "timestamp", "data"} for e in events)

    # a tampered body or another secret does not verify
    headers, raw = receiver.requests[0]
    with pytest.raises(Exception, match="signature"):
        webhook.verify(raw.replace(b"}", b" }", 1), headers)
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(raw, headers)

    wait_for(lambda: not Delivery.objects.exclude(status="delivered").exists(), message="deliveries marked delivered")
    listed = client.get("/api/v1/deliveries/?status=delivered").json()
    assert listed["count"] == 2
    assert {d["webhook_id"] for d in listed["results"]} == {h["webhook-id"] for h, _ in receiver.requests}


def test_four_failures_dead_letter_then_redelivery_succeeds(
    champion, receiver, allow_private, settings, celery_worker_if_queued
):
    settings.CALLBACK_RETRY_BASE_S = 0.01  # retries due at once; the schedule itself is tested elsewhere
    _, client = integrator()
    endpoint = register(client, receiver.url, ["decision.created"])
    receiver.fail_next(4, status=503)
    ingest(client, [transaction_record(1)])

    def dead():
        deliveries_enqueue_due()  # the beat task's catch-up sends each retry once it is due
        return Delivery.objects.filter(status="dead").exists()

    wait_for(dead, message="the delivery to die")
    assert receiver.count() == 4
    dlq = client.get("/api/v1/deliveries/?status=dead").json()
    assert dlq["count"] == 1
    (dead_one,) = dlq["results"]
    assert dead_one["attempts"] == 4 and dead_one["last_status_code"] == 503 and dead_one["endpoint"] == endpoint["id"]
    detail = client.get(f"/api/v1/deliveries/{dead_one['id']}/").json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [503] * 4
    assert detail["data"]["external_id"] == "tx-1"
    assert AuditEvent.objects.filter(action="callback.delivery_dead", object_id=str(dead_one["id"])).exists()

    # the receiver is back: redelivery through the API succeeds, with the same webhook-id (its idempotency key)
    response = client.post(f"/api/v1/deliveries/{dead_one['id']}/redeliver")
    assert response.status_code == 202, response.content
    wait_for(lambda: Delivery.objects.get(pk=dead_one["id"]).status == "delivered", message="redelivery")
    assert receiver.count() == 5
    headers, raw = receiver.requests[-1]
    assert Webhook(endpoint["secret"]).verify(raw, headers)["data"]["external_id"] == "tx-1"
    assert {h["webhook-id"] for h, _ in receiver.requests} == {dead_one["webhook_id"]}
    assert client.get("/api/v1/deliveries/?status=dead").json()["count"] == 0
    assert AuditEvent.objects.filter(action="callback.redelivered", actor__startswith="api:").exists()


def test_a_send_whose_task_was_lost_is_sent_by_the_beat_catch_up(receiver, allow_private, celery_worker_if_queued):
    """A broker outage, or a worker killed mid-send (its lease ran out): the row is due and nothing is queued."""
    endpoint, secret = callback_endpoint_create(name="hooks", url=receiver.url, event_types=["*"], actor="tests")
    event = OutboxEvent.objects.create(event_type="case.closed", payload={"reference": "CASE-9"})
    lost = Delivery.objects.create(
        endpoint=endpoint, event=event, event_type="case.closed", webhook_id="msg_lost", next_attempt_at=timezone.now()
    )
    deliveries_enqueue_due_task.delay()
    wait_for(lambda: Delivery.objects.get(pk=lost.pk).status == "delivered", message="the catch-up send")
    headers, raw = receiver.requests[0]
    assert Webhook(secret).verify(raw, headers)["data"] == {"reference": "CASE-9"}
    assert receiver.count() == 1
