"""The bell over /ws/notifications/: a person hears their own notifications, with the unread count."""

import pytest
from channels.db import database_sync_to_async

from cases.tests.test_live import connect as connect_to
from notifications.models import Kind
from notifications.services import notification_send, notifications_mark_read

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user):
    return await connect_to(user, "/ws/notifications/")


async def test_the_bell_hears_its_own_notifications_only(personas):
    alice_ws, connected, _ = await connect(personas["alice"])
    assert connected
    assert await alice_ws.receive_json_from(timeout=5) == {"type": "unread", "unread": 0}
    bob_ws, _, _ = await connect(personas["bob"])
    await bob_ws.receive_json_from(timeout=5)
    await database_sync_to_async(notification_send)(
        users=[personas["alice"]], kind=Kind.INVESTIGATION, title="Investigation of CASE-1 finished", url="/cases/1/"
    )
    heard = await alice_ws.receive_json_from(timeout=5)
    assert heard == {
        "type": "notification",
        "kind": "investigation",
        "title": "Investigation of CASE-1 finished",
        "url": "/cases/1/",
        "unread": 1,
    }
    assert await bob_ws.receive_nothing(timeout=0.3)
    await database_sync_to_async(notifications_mark_read)(user=personas["alice"])
    assert await alice_ws.receive_json_from(timeout=5) == {"type": "unread", "unread": 0}
    await alice_ws.disconnect(timeout=10)
    await bob_ws.disconnect(timeout=10)


async def test_a_visitor_without_a_session_is_refused(settings):
    from django.contrib.auth.models import AnonymousUser

    settings.WS_AUTHENTICATE_TIMEOUT_S = 0.3
    communicator, _, _ = await connect(AnonymousUser())  # it may still send an access token (accounts.channels)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
