"""GET /api/v1/stream/decisions: Server-Sent Events, driven in-process through finobs' ASGI application."""

import asyncio
import contextlib
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from apikeys.services import api_key_revoke
from conftest import (
    api_key_in_default_organisation,
    ingest_in_default_organisation,
    suspicious_record,
    transaction_record,
)
from delivery.models import OutboxEvent
from finobs.asgi import application

URL = "/api/v1/stream/decisions"
pytestmark = pytest.mark.django_db(transaction=True)


class SSEClient:
    """An HTTP client for one streaming request: the ASGI app runs as a task, body chunks are parsed as they come."""

    def __init__(self, path: str = URL, *, query: str = "", headers: dict | None = None):
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver")]
            + [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.buffer = ""
        self.status = None
        self.headers: dict[str, str] = {}

    async def __aenter__(self):
        await self.inbox.put({"type": "http.request", "body": b"", "more_body": False})
        self.task = asyncio.create_task(application(self.scope, self.inbox.get, self.outbox.put))
        start = await asyncio.wait_for(self.outbox.get(), timeout=10)
        assert start["type"] == "http.response.start"
        self.status = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return self

    async def __aexit__(self, *exc_info):
        await self.inbox.put({"type": "http.disconnect"})
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, timeout=10)

    async def body(self) -> bytes:
        chunks = []
        while True:
            message = await asyncio.wait_for(self.outbox.get(), timeout=10)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                return b"".join(chunks)

    async def next_block(self, timeout: float = 10) -> str:
        """The next SSE block (lines up to a blank line)."""
        while "\n\n" not in self.buffer:
            message = await asyncio.wait_for(self.outbox.get(), timeout=timeout)
            self.buffer += message.get("body", b"").decode()
        block, self.buffer = self.buffer.split("\n\n", 1)
        return block

    async def events(self, count: int, timeout: float = 10) -> list[dict]:
        """The next `count` events as {"id", "event", "data"}, skipping comments and retry lines."""
        found = []
        while len(found) < count:
            block = await self.next_block(timeout)
            fields = dict(line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":"))
            if "data" in fields:
                found.append({"id": int(fields["id"]), "event": fields["event"], "data": json.loads(fields["data"])})
        return found

    async def nothing_more(self, timeout: float = 0.5) -> bool:
        """True if no event (comments allowed) arrives within `timeout`."""
        try:
            await self.events(1, timeout=timeout)
        except TimeoutError:
            return True
        return False


def key_headers(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


async def write(fn, *args, **kwargs):
    """Run a write from the test while streams poll. The SQLite test database lives in shared-cache
    memory, where a writer meeting a reader's table lock fails at once ("database table is locked")
    instead of waiting as it does on a file or on PostgreSQL; so the test retries that write."""
    for attempt in range(20):
        try:
            return await database_sync_to_async(fn)(*args, **kwargs)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == 19:
                raise
            await asyncio.sleep(0.05)


async def ingest_records(records):
    return await write(ingest_in_default_organisation, records, source="acme", actor="tests")


async def decision_event_ids() -> list[int]:
    return await database_sync_to_async(
        lambda: list(
            OutboxEvent.objects.filter(event_type="decision.created").order_by("id").values_list("id", flat=True)
        )
    )()


async def assert_error(client: SSEClient, status: int, code: str):
    assert client.status == status
    body = json.loads(await client.body())
    assert body["code"] == code and body["message"] and "details" in body
    return body


class TestAccess:
    async def test_without_credentials_is_401(self):
        async with SSEClient() as client:
            await assert_error(client, 401, "not_authenticated")
            assert client.headers["www-authenticate"].startswith("Bearer")

    async def test_revoked_and_expired_keys_are_401(self):
        key, raw = await database_sync_to_async(api_key_in_default_organisation)(
            name="r", source="acme", scopes=["stream"]
        )
        await database_sync_to_async(api_key_revoke)(key=key)
        async with SSEClient(headers=key_headers(raw)) as client:
            await assert_error(client, 401, "authentication_failed")

        key, raw = await database_sync_to_async(api_key_in_default_organisation)(
            name="e", source="acme", scopes=["stream"], expires_at=timezone.now() + timedelta(seconds=30)
        )
        await database_sync_to_async(
            lambda: type(key).objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        )()
        async with SSEClient(headers=key_headers(raw)) as client:
            await assert_error(client, 401, "authentication_failed")

    async def test_key_without_stream_scope_is_403(self):
        _, raw = await database_sync_to_async(api_key_in_default_organisation)(
            name="i", source="acme", scopes=["ingest", "read"]
        )
        async with SSEClient(headers=key_headers(raw)) as client:
            await assert_error(client, 403, "permission_denied")

    async def test_signed_in_user_needs_the_live_permission(self, make_user):
        def session_cookie(role):
            client = Client()
            client.force_login(make_user(role, f"{role}-sse"))
            return f"sessionid={client.cookies['sessionid'].value}"

        async with SSEClient(headers={"Cookie": await database_sync_to_async(session_cookie)(None)}) as client:
            await assert_error(client, 403, "permission_denied")
        async with SSEClient(headers={"Cookie": await database_sync_to_async(session_cookie)("viewer")}) as client:
            assert client.status == 200
            assert client.headers["content-type"].startswith("text/event-stream")

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("flagged_only=maybe", "flagged_only"),
            ("min_risk_level=EXTREME", "min_risk_level"),
            ("last_event_id=x", "last_event_id"),
        ],
    )
    async def test_invalid_parameters_are_400(self, api_key, query, field):
        async with SSEClient(query=query, headers=key_headers(api_key[1])) as client:
            body = await assert_error(client, 400, "invalid_parameter")
            assert field in body["details"]


class TestEvents:
    async def test_live_events_carry_outbox_ids_and_the_decision(self, champion, api_key):
        async with SSEClient(headers=key_headers(api_key[1])) as client:
            assert client.status == 200
            assert (await client.next_block()) == "retry: 3000"
            await ingest_records([transaction_record(1), suspicious_record(2, account_id="acc-sse")])
            events = await client.events(2)
            assert [e["id"] for e in events] == await decision_event_ids()
            assert {e["event"] for e in events} == {"decision.created"}
            assert [e["data"]["external_id"] for e in events] == ["tx-1", "tx-2"]
            assert events[1]["data"]["flagged"] is True
            assert await client.nothing_more()

    async def test_a_key_follows_its_own_source_only(self, champion, api_key):
        async with SSEClient(headers=key_headers(api_key[1])) as client:
            assert (await client.next_block()) == "retry: 3000"
            await write(
                ingest_in_default_organisation,
                [transaction_record(1, external_id="other-1")],
                source="other-bank",
                actor="tests",
            )
            await ingest_records([transaction_record(2)])
            events = await client.events(1)
            assert [e["data"]["external_id"] for e in events] == ["tx-2"]
            assert {e["data"]["source"] for e in events} == {"acme"}
            assert await client.nothing_more()

    async def test_a_person_follows_the_decisions_of_the_cases_they_may_see(self, champion, personas):
        def session_cookie():
            client = Client()
            client.force_login(personas["victor"])  # team A's viewer
            return f"sessionid={client.cookies['sessionid'].value}"

        async with SSEClient(headers={"Cookie": await database_sync_to_async(session_cookie)()}) as client:
            assert (await client.next_block()) == "retry: 3000"
            records = [suspicious_record(1, account_id="b-1"), suspicious_record(2, account_id="a-1")]
            await ingest_records([*records, transaction_record(3)])
            events = await client.events(2)
            assert [e["data"]["external_id"] for e in events] == ["tx-2", "tx-3"]  # not team B's case
            assert await client.nothing_more()

    async def test_connecting_without_last_event_id_sends_nothing_old(self, champion, api_key):
        await ingest_records([transaction_record(1)])
        async with SSEClient(headers=key_headers(api_key[1])) as client:
            assert await client.nothing_more()

    async def test_last_event_id_replays_what_was_missed_exactly_once(self, champion, api_key):
        await ingest_records([transaction_record(n) for n in range(1, 6)])
        ids = await decision_event_ids()
        async with SSEClient(headers={**key_headers(api_key[1]), "Last-Event-ID": str(ids[1])}) as client:
            replayed = await client.events(3)
            assert [e["id"] for e in replayed] == ids[2:]
            await ingest_records([transaction_record(6)])
            (live,) = await client.events(1)
            assert live["data"]["external_id"] == "tx-6"
            assert await client.nothing_more()
        # The query parameter works too, for clients that cannot set headers.
        async with SSEClient(query=f"last_event_id={ids[3]}", headers=key_headers(api_key[1])) as client:
            assert [e["id"] for e in await client.events(2)] == [ids[4], live["id"]]

    async def test_filters(self, champion, api_key):
        async with (
            SSEClient(query="flagged_only=true", headers=key_headers(api_key[1])) as flagged,
            SSEClient(query="min_risk_level=high", headers=key_headers(api_key[1])) as high,
            SSEClient(headers=key_headers(api_key[1])) as everything,
        ):
            await ingest_records(
                [transaction_record(1), suspicious_record(2, account_id="acc-f"), transaction_record(3)]
            )
            all_events = await everything.events(3)
            by_id = {e["id"]: e["data"] for e in all_events}
            expected_flagged = [i for i, d in by_id.items() if d["flagged"]]
            expected_high = [i for i, d in by_id.items() if d["risk_level"] in ("HIGH", "CRITICAL")]
            assert expected_flagged, "the suspicious record must be flagged for this test to mean anything"
            assert len(expected_flagged) < 3
            assert [e["id"] for e in await flagged.events(len(expected_flagged))] == expected_flagged
            assert await flagged.nothing_more()
            assert [e["id"] for e in await high.events(len(expected_high))] == expected_high
            assert await high.nothing_more()

    async def test_heartbeat_comments_keep_the_connection_alive(self, api_key, settings):
        settings.SSE_HEARTBEAT_S = 0.2
        async with SSEClient(headers=key_headers(api_key[1])) as client:
            await client.next_block()  # retry:
            assert (await client.next_block(timeout=5)) == ": heartbeat"

    async def test_events_go_uncompressed_whatever_the_client_accepts(self, api_key, settings):
        """gzip would hold events back in its buffer until it filled: the stream is never compressed."""
        settings.SSE_HEARTBEAT_S = 0.2
        async with SSEClient(headers={**key_headers(api_key[1]), "Accept-Encoding": "gzip"}) as client:
            assert client.status == 200 and "content-encoding" not in client.headers
            assert (await client.next_block()) == "retry: 3000"
            assert (await client.next_block(timeout=5)) == ": heartbeat"

    async def test_a_revoked_key_loses_its_open_stream(self, api_key, settings):
        settings.SSE_HEARTBEAT_S = 0.2
        key, raw = api_key
        async with SSEClient(headers=key_headers(raw)) as client:
            await client.next_block()  # retry:
            assert (await client.next_block(timeout=5)) == ": heartbeat"
            await write(api_key_revoke, key=key)
            ending = await asyncio.wait_for(client.outbox.get(), timeout=5)
            while ending.get("more_body"):
                ending = await asyncio.wait_for(client.outbox.get(), timeout=5)
            assert ending["type"] == "http.response.body" and not ending.get("more_body")  # the response ended

    async def test_a_lost_hint_only_delays_the_event(self, champion, api_key, settings):
        """Events written without a relay run (no hint at all) still arrive: subscribers poll the outbox."""
        settings.STREAM_POLL_S = 0.2
        async with SSEClient(headers=key_headers(api_key[1])) as client:
            await write(
                OutboxEvent.objects.create,
                event_type="decision.created",
                payload={"external_id": "quiet", "source": "acme", "risk_level": "LOW", "flagged": False},
            )
            (event,) = await client.events(1)
            assert event["data"]["external_id"] == "quiet"


def test_the_stream_is_in_the_openapi_schema(db):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    operation = response.json()["paths"]["/api/v1/stream/decisions"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"flagged_only", "min_risk_level", "Last-Event-ID"}
    assert "text/event-stream" in operation["responses"]["200"]["content"]
