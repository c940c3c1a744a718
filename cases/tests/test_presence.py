"""Presence on a case page (who else has it open, over the case's socket) and versions on status changes."""

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from cases.models import Case
from cases.services import case_transition
from cases.services.live import case_group
from cases.tests.test_live import connect
from kernel.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)


async def presence(ws) -> list[str]:
    """The next presence message's names (skipping case hints)."""
    while True:
        message = await ws.receive_json_from(timeout=5)
        if message["type"] == "presence":
            return message["viewers"]


async def test_each_viewer_sees_the_others_and_sees_them_leave(personas, open_case):
    case = await database_sync_to_async(open_case)("a-1")
    path = f"/ws/cases/{case.reference}/"
    alice_ws, connected, _ = await connect(personas["alice"], path)
    assert connected
    carol_ws, _, _ = await connect(personas["carol"], path)
    assert await presence(carol_ws) == ["alice"]
    assert await presence(alice_ws) == ["carol"]
    victor_ws, _, _ = await connect(personas["victor"], path)
    assert await presence(alice_ws) == ["carol", "victor"]
    assert await presence(victor_ws) in (["alice"], ["carol"], ["alice", "carol"])
    await carol_ws.disconnect(timeout=10)
    assert await presence(alice_ws) == ["victor"]
    await victor_ws.disconnect(timeout=10)
    assert await presence(alice_ws) == []
    await alice_ws.disconnect(timeout=10)


async def test_ones_own_other_tab_is_not_someone_else(personas, open_case):
    case = await database_sync_to_async(open_case)("a-1")
    path = f"/ws/cases/{case.reference}/"
    first, _, _ = await connect(personas["alice"], path)
    second, _, _ = await connect(personas["alice"], path)
    assert await first.receive_nothing(timeout=0.3)
    await first.disconnect(timeout=10)
    await second.disconnect(timeout=10)


async def test_a_viewer_whose_socket_dropped_silently_expires(personas, open_case, settings):
    settings.CASES_PRESENCE_HEARTBEAT_S = 0.2
    case = await database_sync_to_async(open_case)("a-1")
    alice_ws, _, _ = await connect(personas["alice"], f"/ws/cases/{case.reference}/")
    # A viewer on another web process that died: announced once through the layer, never heard again.
    layer = get_channel_layer()
    ghost = {"type": "presence.here", "reply": False, "channel": "gone!x", "user_id": personas["carol"].pk}
    await layer.group_send(case_group(case.pk), {**ghost, "username": "carol"})
    assert await presence(alice_ws) == ["carol"]
    assert await presence(alice_ws) == []  # three missed heartbeats later
    await alice_ws.disconnect(timeout=10)


async def test_another_teams_analyst_cannot_listen_in(personas, open_case):
    case = await database_sync_to_async(open_case)("a-1")
    _, connected, code = await connect(personas["bob"], f"/ws/cases/{case.reference}/")
    assert not connected and code == 4404


@pytest.mark.django_db
def test_a_status_change_on_a_stale_version_is_refused(personas, open_case, client):
    case = open_case("a-1")
    seen = case.version
    case_transition(case=case, status="triage", actor=personas["alice"], version=seen)
    case.refresh_from_db()
    assert case.version == seen + 1
    with pytest.raises(Conflict) as refused:
        case_transition(case=case, status="investigating", actor=personas["carol"], version=seen)
    assert refused.value.code == "stale_version"
    assert Case.objects.get(pk=case.pk).status == "triage"

    client.force_login(personas["carol"])
    api = client.post(
        f"/api/v1/cases/{case.reference}/transition/",
        {"status": "investigating", "version": seen},
        content_type="application/json",
    )
    assert api.status_code == 409
    assert api.json()["code"] == "stale_version"
    assert api.json()["details"] == {"version": seen, "current_version": seen + 1}
    closing = client.post(
        f"/api/v1/cases/{case.reference}/close/",
        {"outcome": "false_positive", "rationale": "x", "version": seen},
        content_type="application/json",
    )
    assert closing.status_code == 409
    page = client.post(
        f"/cases/{case.reference}/transition", {"status": "investigating", "version": str(seen)}, follow=True
    )
    assert "reload it" in page.content.decode()
    assert Case.objects.get(pk=case.pk).status == "triage"
    current = client.post(
        f"/cases/{case.reference}/transition", {"status": "investigating", "version": str(seen + 1)}, follow=True
    )
    assert current.status_code == 200 and Case.objects.get(pk=case.pk).status == "investigating"


@pytest.mark.django_db
def test_the_case_page_carries_its_version_and_the_presence_marker(personas, open_case, client):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert f'name="version" value="{case.version}"' in page
    assert 'data-testid="presence"' in page and "cases/presence.js" in page
