"""The WebSocket feed /ws/decisions/ pushes each new decision, only to users allowed to see them."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from conftest import suspicious_record, transaction_record
from finobs.asgi import application
from ingestion.models import OutboxEvent
from ingestion.relay import outbox_relay
from ingestion.services import ingest

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user):
    communicator = WebsocketCommunicator(application, "/ws/decisions/", headers=[(b"origin", b"http://127.0.0.1")])
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_viewer_receives_each_new_decision(champion, make_user, celery_worker_if_queued):
    viewer = await database_sync_to_async(make_user)("viewer")
    communicator, connected, _ = await connect(viewer)
    assert connected
    records = [transaction_record(1), suspicious_record(2, account_id="acc-ws")]
    result = await database_sync_to_async(ingest)(records, source="acme", actor="tests")
    assert result.accepted == 2

    received = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert [event["data"]["external_id"] for event in received] == ["tx-1", "tx-2"]
    assert received[1]["type"] == "decision.created"
    assert received[1]["data"]["flagged"] is True
    assert received[1]["data"]["case_reference"].startswith("CASE-")
    assert received[0]["id"] < received[1]["id"]
    assert await communicator.receive_nothing(timeout=0.2)
    assert not await database_sync_to_async(OutboxEvent.objects.filter(published_at__isnull=True).exists)()
    await communicator.disconnect()


async def test_relay_publishes_each_event_once(champion, make_user, celery_worker_if_queued):
    viewer = await database_sync_to_async(make_user)("viewer")
    communicator, _, _ = await connect(viewer)
    await database_sync_to_async(ingest)([transaction_record(1)], source="acme", actor="tests")
    await communicator.receive_json_from(timeout=5)
    assert await database_sync_to_async(outbox_relay)() == 0
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_user_without_a_role_is_refused(make_user):
    nobody = await database_sync_to_async(make_user)(None)
    _, connected, code = await connect(nobody)
    assert not connected
    assert code == 4403


async def test_anonymous_is_refused():
    from django.contrib.auth.models import AnonymousUser

    _, connected, _ = await connect(AnonymousUser())
    assert not connected
