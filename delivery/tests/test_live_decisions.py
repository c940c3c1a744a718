"""The WebSocket feed /ws/decisions/ pushes each new decision, only to users allowed to see them."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from conftest import ingest_in_default_organisation, suspicious_record, transaction_record
from delivery.models import OutboxEvent
from delivery.services.relay import outbox_relay
from finobs.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user):
    communicator = WebsocketCommunicator(application, "/ws/decisions/", headers=[(b"origin", b"http://127.0.0.1")])
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_a_compliance_officer_receives_each_new_decision(champion, make_user, celery_worker_if_queued):
    officer = await database_sync_to_async(make_user)("compliance")  # sees every case (test_feed_scoping: others)
    communicator, connected, _ = await connect(officer)
    assert connected
    records = [transaction_record(1), suspicious_record(2, account_id="acc-ws")]
    result = await database_sync_to_async(ingest_in_default_organisation)(records, source="acme", actor="tests")
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
    await database_sync_to_async(ingest_in_default_organisation)([transaction_record(1)], source="acme", actor="tests")
    await communicator.receive_json_from(timeout=5)
    assert await database_sync_to_async(outbox_relay)() == 0
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_user_without_a_role_is_refused(make_user):
    nobody = await database_sync_to_async(make_user)(None)
    _, connected, code = await connect(nobody)
    assert not connected
    assert code == 4403


async def test_anonymous_is_refused(settings):
    from django.contrib.auth.models import AnonymousUser

    settings.WS_AUTHENTICATE_TIMEOUT_S = 0.3
    communicator, connected, _ = await connect(AnonymousUser())
    assert connected  # without a session it may still send an access token (accounts.channels)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}


async def connect_to(user, query: str):
    communicator = WebsocketCommunicator(
        application, f"/ws/decisions/?{query}", headers=[(b"origin", b"http://127.0.0.1")]
    )
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_last_event_id_replays_missed_events_then_live_ones(champion, make_user, celery_worker_if_queued):
    viewer = await database_sync_to_async(make_user)("viewer")
    await database_sync_to_async(ingest_in_default_organisation)(
        [transaction_record(n) for n in range(1, 4)], source="acme", actor="tests"
    )
    ids = await database_sync_to_async(lambda: list(OutboxEvent.objects.order_by("id").values_list("id", flat=True)))()
    communicator, connected, _ = await connect_to(viewer, f"last_event_id={ids[0]}")
    assert connected
    replayed = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert [event["id"] for event in replayed] == ids[1:]
    await database_sync_to_async(ingest_in_default_organisation)([transaction_record(4)], source="acme", actor="tests")
    live = await communicator.receive_json_from(timeout=5)
    assert live["data"]["external_id"] == "tx-4" and live["id"] > ids[-1]
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_flagged_only_filter(champion, make_user, celery_worker_if_queued):
    officer = await database_sync_to_async(make_user)("compliance")
    communicator, connected, _ = await connect_to(officer, "flagged_only=true&min_risk_level=LOW")
    assert connected
    records = [transaction_record(1), suspicious_record(2, account_id="acc-ws"), transaction_record(3)]
    await database_sync_to_async(ingest_in_default_organisation)(records, source="acme", actor="tests")
    event = await communicator.receive_json_from(timeout=5)
    assert (event["data"]["external_id"], event["data"]["flagged"]) == ("tx-2", True)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.parametrize("query", ["min_risk_level=SEVERE", "flagged_only=perhaps", "last_event_id=-1"])
async def test_invalid_parameters_close_with_4400(make_user, query):
    viewer = await database_sync_to_async(make_user)("viewer")
    _, connected, code = await connect_to(viewer, query)
    assert not connected
    assert code == 4400
