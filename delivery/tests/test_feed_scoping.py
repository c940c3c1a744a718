"""A person follows only the decisions they may see: those in their teams' cases, or in no case at all."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from conftest import default_organisation, suspicious_record, transaction_record
from delivery.feed import FeedFilters
from delivery.selectors import decision_events_after
from finobs.asgi import application
from ingestion.services import ingest


def _traffic():
    """An everyday payment (no case), and suspicious ones of team A's and team B's accounts."""
    records = [transaction_record(1), suspicious_record(2, account_id="a-1"), suspicious_record(3, account_id="b-1")]
    result = ingest(records, organisation=default_organisation(), source="acme", actor="tests")
    assert result.accepted == 3 and result.decisions[2]["case_reference"]
    return result


def _followed(user) -> list[str]:
    events, _cursor = decision_events_after(
        after_id=0, filters=FeedFilters(organisation_id=default_organisation().pk, viewer=user)
    )
    return [e["data"]["external_id"] for e in events]


@pytest.mark.django_db
def test_each_person_reads_the_decisions_of_the_cases_they_may_see(champion, personas):
    _traffic()
    assert _followed(personas["victor"]) == ["tx-1", "tx-2"]  # team A's viewer
    assert _followed(personas["bob"]) == ["tx-1", "tx-3"]  # team B's analyst
    assert _followed(personas["carol"]) == ["tx-1", "tx-2", "tx-3"]  # compliance sees every case


@pytest.mark.django_db
def test_the_cursor_passes_what_a_person_may_not_see(champion, personas):
    _traffic()
    events, cursor = decision_events_after(
        after_id=0, filters=FeedFilters(organisation_id=default_organisation().pk, viewer=personas["victor"]), limit=3
    )
    assert [e["data"]["external_id"] for e in events] == ["tx-1", "tx-2"]
    assert (
        decision_events_after(
            after_id=cursor, filters=FeedFilters(organisation_id=default_organisation().pk, viewer=personas["victor"])
        )[0]
        == []
    )


@pytest.mark.django_db(transaction=True)
async def test_the_websocket_feed_leaves_out_another_teams_decisions(champion, personas, celery_worker_if_queued):
    communicator = WebsocketCommunicator(application, "/ws/decisions/", headers=[(b"origin", b"http://127.0.0.1")])
    communicator.scope["user"] = personas["victor"]
    connected, _ = await communicator.connect()
    assert connected
    await database_sync_to_async(_traffic)()
    received = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert [e["data"]["external_id"] for e in received] == ["tx-1", "tx-2"]
    assert await communicator.receive_nothing(timeout=0.5)  # not b-1's decision, with its account and case
    await communicator.disconnect()


@pytest.mark.django_db
def test_a_transaction_in_another_teams_case_is_not_found(client, champion, personas):
    result = _traffic()
    everyday, team_a, team_b = (d["transaction_id"] for d in result.decisions)
    client.force_login(personas["victor"])
    assert client.get(f"/api/v1/transactions/{team_a}/").status_code == 200
    assert client.get(f"/api/v1/transactions/{everyday}/").status_code == 200
    assert client.get(f"/api/v1/transactions/{team_b}/").status_code == 404
    client.force_login(personas["alice"])
    assert client.get(f"/api/v1/transactions/{team_b}/explanation").status_code == 404
    assert client.get(f"/api/v1/transactions/{team_a}/explanation").status_code == 200
    client.force_login(personas["carol"])
    assert client.get(f"/api/v1/transactions/{team_b}/").status_code == 200
