"""The WebSocket feed while Redis (the channel layer) does not answer: the socket is accepted all the same and
delivers each new decision by polling the outbox; relay hints resume when Redis is back."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from conftest import ingest_in_default_organisation, transaction_record
from finobs.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

UNREACHABLE = {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}


@pytest.fixture
def layer_unreachable(settings):
    settings.CHANNEL_LAYERS = {"default": UNREACHABLE}
    settings.STREAM_POLL_S = 0.2
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def test_the_websocket_feed_keeps_delivering_by_polling_without_redis(champion, make_user, layer_unreachable):
    officer = await database_sync_to_async(make_user)("compliance")
    communicator = WebsocketCommunicator(application, "/ws/decisions/", headers=[(b"origin", b"http://127.0.0.1")])
    communicator.scope["user"] = officer
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await database_sync_to_async(ingest_in_default_organisation)([transaction_record(1), transaction_record(2)])
    received = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert [event["data"]["external_id"] for event in received] == ["tx-1", "tx-2"]
    await communicator.disconnect()
