"""Live decisions by access token: the WebSocket (first message or subprotocol, never the query string) and the
SSE stream, each in the token's organisation."""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.tokens import token_pair_for
from conftest import default_organisation, suspicious_record, transaction_record
from delivery.tests.test_streams_sse import SSEClient, assert_error, ingest_records
from finobs.asgi import application
from organisations.context import organisation_context

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = [(b"origin", b"http://127.0.0.1")]


def access_token(make_user, role: str, username: str, organisation=None, *, expired: bool = False) -> str:
    organisation = organisation or default_organisation()
    with organisation_context(organisation):
        user = make_user(role, username, organisation=organisation)
        token = token_pair_for(user, organisation, methods=["pwd"]).access
    if expired:
        token.set_exp(from_time=aware_utcnow() - timedelta(hours=1))
    return str(token)


def socket(path="/ws/decisions/", **kwargs) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=ORIGIN, **kwargs)


async def authenticated_by_message(token: str, path="/ws/decisions/") -> WebsocketCommunicator:
    communicator = socket(path)
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"type": "authenticate", "token": token})
    return communicator


async def closed_with(communicator, code: int, timeout: float = 5) -> bool:
    message = await communicator.receive_output(timeout=timeout)
    return message == {"type": "websocket.close", "code": code}


async def test_a_token_in_the_first_message_follows_its_organisations_decisions(champion, make_user, organisation):
    token = await database_sync_to_async(access_token)(make_user, "compliance", "ws-officer")
    communicator = await authenticated_by_message(token)
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "authenticated" and hello["organisation"] == "default"
    assert hello["username"] == "ws-officer"

    await ingest_records([transaction_record(1), suspicious_record(2, account_id="acc-ws")])
    received = [await communicator.receive_json_from(timeout=5) for _ in range(2)]
    assert [event["data"]["external_id"] for event in received] == ["tx-1", "tx-2"]
    await communicator.disconnect()


async def test_a_token_of_another_organisation_hears_nothing_of_this_one(champion, make_user, organisation):
    token = await database_sync_to_async(access_token)(make_user, "compliance", "harbour-officer", organisation)
    communicator = await authenticated_by_message(token)
    assert (await communicator.receive_json_from(timeout=5))["organisation"] == "harbour"
    await ingest_records([suspicious_record(1, account_id="acc-default")])
    assert await communicator.receive_nothing(timeout=1)
    await communicator.disconnect()


async def test_the_subprotocol_carries_the_token_and_the_server_chooses_finobs_bearer(champion, make_user):
    token = await database_sync_to_async(access_token)(make_user, "viewer", "ws-viewer")
    communicator = socket(subprotocols=["finobs.bearer", token])
    connected, subprotocol = await communicator.connect()
    assert connected and subprotocol == "finobs.bearer"
    await ingest_records([transaction_record(1)])
    assert (await communicator.receive_json_from(timeout=5))["data"]["external_id"] == "tx-1"
    await communicator.disconnect()


async def test_a_refused_token_closes_the_socket_with_4401(make_user):
    expired = await database_sync_to_async(access_token)(make_user, "viewer", "late", expired=True)
    communicator = await authenticated_by_message(expired)
    assert await closed_with(communicator, 4401)

    communicator = await authenticated_by_message("not-a-token")
    assert await closed_with(communicator, 4401)

    communicator = socket(subprotocols=["finobs.bearer", expired])
    connected, _ = await communicator.connect()
    assert connected  # accepted, so the client learns why it is closed
    assert await closed_with(communicator, 4401)


async def test_a_token_in_the_query_string_is_not_accepted(make_user, settings):
    settings.WS_AUTHENTICATE_TIMEOUT_S = 0.5
    token = await database_sync_to_async(access_token)(make_user, "viewer", "query")
    for query in (f"token={token}", f"access_token={token}", f"authorization=Bearer%20{token}"):
        communicator = socket(f"/ws/decisions/?{query}")
        connected, _ = await communicator.connect()
        assert connected
        assert await closed_with(communicator, 4401), query  # it waited for a first message that never came


async def test_a_socket_without_a_session_or_token_is_closed_after_the_timeout(settings):
    settings.WS_AUTHENTICATE_TIMEOUT_S = 0.3
    communicator = socket()
    connected, _ = await communicator.connect()
    assert connected
    assert await closed_with(communicator, 4401)


async def test_a_person_without_the_permission_is_closed_with_4403(make_user):
    token = await database_sync_to_async(access_token)(make_user, None, "no-role")
    communicator = await authenticated_by_message(token)
    assert await closed_with(communicator, 4403)


async def test_the_socket_closes_when_the_token_expires_unless_renewed(make_user, settings):
    def short_lived(seconds: float) -> str:
        token = token_pair_for(user, default_organisation(), methods=["pwd"]).access
        token.set_exp(lifetime=timedelta(seconds=seconds))
        return str(token)

    user = await database_sync_to_async(make_user)("viewer", "renewer")
    fresh = await database_sync_to_async(short_lived)(60)
    communicator = await authenticated_by_message(await database_sync_to_async(short_lived)(3))
    assert (await communicator.receive_json_from(timeout=5))["type"] == "authenticated"
    await communicator.send_json_to({"type": "authenticate", "token": fresh})
    renewed = await communicator.receive_json_from(timeout=5)
    assert renewed["type"] == "authenticated"
    assert await communicator.receive_nothing(timeout=3.5)  # past the first token's expiry: still open

    communicator = await authenticated_by_message(await database_sync_to_async(short_lived)(1))
    assert (await communicator.receive_json_from(timeout=5))["type"] == "authenticated"
    assert await closed_with(communicator, 4401, timeout=5)


async def test_the_cases_socket_takes_a_token_too(make_user):
    token = await database_sync_to_async(access_token)(make_user, "compliance", "cases-officer")
    communicator = await authenticated_by_message(token, path="/ws/cases/")
    assert (await communicator.receive_json_from(timeout=5))["type"] == "authenticated"
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


class TestServerSentEvents:
    async def test_an_access_token_follows_the_stream_of_its_organisation(self, champion, make_user, organisation):
        ours = await database_sync_to_async(access_token)(make_user, "viewer", "sse-viewer")
        theirs = await database_sync_to_async(access_token)(make_user, "viewer", "sse-harbour", organisation)
        async with (
            SSEClient(headers={"Authorization": f"Bearer {ours}"}) as client,
            SSEClient(headers={"Authorization": f"Bearer {theirs}"}) as other,
        ):
            assert client.status == 200 and other.status == 200
            await ingest_records([transaction_record(1)])
            (event,) = await client.events(1)
            assert event["data"]["external_id"] == "tx-1"
            assert await other.nothing_more(timeout=1)

    async def test_an_expired_or_permissionless_token_is_refused(self, make_user):
        expired = await database_sync_to_async(access_token)(make_user, "viewer", "sse-late", expired=True)
        async with SSEClient(headers={"Authorization": f"Bearer {expired}"}) as client:
            body = await assert_error(client, 401, "token_expired")
            assert json.dumps(body)
        no_role = await database_sync_to_async(access_token)(make_user, None, "sse-nobody")
        async with SSEClient(headers={"Authorization": f"Bearer {no_role}"}) as client:
            await assert_error(client, 403, "permission_denied")
