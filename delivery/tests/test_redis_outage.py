"""Redis stops during ingest: clients still get 200, no event is lost, and the stream delivers each event once.

The test runs its own redis-server on a free port and points the channel layer, the cache (API key
throttling) and the Celery broker at it; a real daphne server (child process) serves the API and
the SSE stream; an SSE client in a thread follows the stream and reconnects with Last-Event-ID.
No Celery worker runs: the test calls `outbox_relay()` itself where beat would, so that what the
relay publishes, and when, is explicit.
"""

import json
import shutil
import socket
import subprocess
import threading
import time

import httpx
import pytest
import redis
from django.test import override_settings

from apikeys.services import api_key_create
from conftest import default_organisation, serve_asgi, suspicious_record, transaction_record, wait_until
from delivery.models import OutboxEvent
from delivery.services.relay import outbox_relay
from finobs.celery import app as celery_app

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server that the test can stop and start again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    if server.process.poll() is None:
        server.kill()


@pytest.fixture
def services_on(redis_server):
    """Channel layer, cache and Celery broker on the throwaway Redis, for this process and the daphne child."""
    layer = {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_server.url]}}
    cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url}
    with override_settings(
        CHANNEL_LAYERS={"default": layer},
        CACHES={"default": cache},
        CELERY_BROKER_URL=redis_server.url,
        CELERY_TASK_ALWAYS_EAGER=False,
        STREAM_POLL_S=0.5,
        SSE_HEARTBEAT_S=1,
    ):
        # Celery reads its settings from Django's on each access; only its pooled connections need dropping.
        celery_app._after_fork()
        assert celery_app.conf.broker_url == redis_server.url
        yield redis_server
    celery_app._after_fork()  # drop the connections made to the throwaway Redis


@pytest.fixture
def server(services_on):
    """finobs' ASGI app served by daphne in a child process (it inherits the overridden settings)."""
    yield from serve_asgi("127.0.0.1")


class StreamFollower(threading.Thread):
    """Follows the SSE stream; on a dropped connection (or when asked) reconnects with Last-Event-ID."""

    def __init__(self, url: str, key: str):
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.events: list[tuple[int, dict]] = []
        self.connections = 0
        self.connected = threading.Event()
        self.drop_requested = threading.Event()
        self.stopping = threading.Event()

    @property
    def ids(self) -> list[int]:
        return [event_id for event_id, _ in self.events]

    def run(self):
        while not self.stopping.is_set():
            headers = {"Authorization": f"Bearer {self.key}"}
            if self.events:
                headers["Last-Event-ID"] = str(self.events[-1][0])
            try:
                with httpx.stream("GET", self.url, headers=headers, timeout=httpx.Timeout(10, read=5)) as response:
                    assert response.status_code == 200
                    self.connections += 1
                    self._follow(response)
            except (httpx.HTTPError, OSError):
                time.sleep(0.2)

    def _follow(self, response):
        block: dict[str, str] = {}
        for line in response.iter_lines():
            self.connected.set()
            if self.stopping.is_set() or self.drop_requested.is_set():
                self.drop_requested.clear()
                return
            if line == "":
                if "data" in block:
                    self.events.append((int(block["id"]), json.loads(block["data"])))
                block = {}
            elif not line.startswith(":") and ": " in line:
                name, value = line.split(": ", 1)
                block[name] = value


def decision_ids() -> list[int]:
    return list(OutboxEvent.objects.filter(event_type="decision.created").order_by("id").values_list("id", flat=True))


def unpublished(*, decisions_only: bool = False) -> int:
    events = OutboxEvent.objects.filter(published_at__isnull=True)
    if decisions_only:
        events = events.filter(event_type="decision.created")
    return events.count()


def test_stopping_redis_loses_nothing_and_the_stream_delivers_each_event_once(champion, server, services_on):
    _, key = api_key_create(
        organisation=default_organisation(), name="Acme", source="acme", scopes=["ingest", "stream"]
    )
    follower = StreamFollower(f"{server}/api/v1/stream/decisions", key)
    follower.start()
    assert follower.connected.wait(timeout=20)
    api = httpx.Client(base_url=server, headers={"X-Webhook-Key": key}, timeout=60)

    def ingest_batch(first: int) -> httpx.Response:
        records = [transaction_record(n) for n in range(first, first + 4)] + [suspicious_record(first + 4)]
        return api.post("/api/v1/transactions/ingest", json=records)

    try:
        # Redis up: ingest, the relay publishes hints, the subscriber reads the events.
        assert ingest_batch(1).status_code == 200
        waiting = unpublished()
        assert waiting > 5  # decisions, and the case events of the flagged one
        assert outbox_relay() == waiting
        assert wait_until(lambda: len(follower.events) == 5)

        # Redis down: ingest still answers 200 (the broker and the layer are unreachable), events wait in the outbox.
        services_on.kill()
        response = ingest_batch(6)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 5
        waiting = unpublished()
        assert outbox_relay() == 0  # the layer refused; nothing is marked published
        assert unpublished() == waiting
        follower.drop_requested.set()  # the subscriber's connection drops too; it comes back with Last-Event-ID
        assert ingest_batch(11).status_code == 200
        assert len(decision_ids()) == 15
        assert unpublished(decisions_only=True) == 10
        # The stream keeps delivering from the outbox meanwhile (hints are only a wake-up).
        assert wait_until(lambda: len(follower.events) == 15)
        assert follower.connections >= 2

        # Redis back: the relay catches up, and new events flow through hints again.
        services_on.start()
        waiting = unpublished()
        assert outbox_relay() == waiting
        assert unpublished() == 0
        assert ingest_batch(16).status_code == 200
        assert outbox_relay() >= 5
        assert wait_until(lambda: len(follower.events) == 20)
        time.sleep(1.5)  # a late duplicate (a replayed hint, a second poll) would arrive here
    finally:
        follower.stopping.set()
        api.close()
        follower.join(timeout=10)

    assert follower.ids == decision_ids()  # every event, once, in id order
    external_ids = [data["external_id"] for _, data in follower.events]
    assert external_ids == [f"tx-{n}" for n in range(1, 21)]


def test_decisions_flagged_while_redis_was_down_are_explained_once_it_is_back(champion, services_on):
    """The relay queues explanations with the events it publishes: a broker outage at ingest delays them, no more."""
    from celery.contrib.testing.worker import start_worker

    from ingestion.services import ingest
    from scoring.models import Decision

    services_on.kill()
    result = ingest(
        [transaction_record(1), suspicious_record(2)], organisation=default_organisation(), source="acme", actor="test"
    )
    assert (result.accepted, result.flagged) == (2, 1)
    waiting = unpublished()
    assert outbox_relay() == 0  # Redis (channel layer and broker) refuses: no event is marked published
    assert unpublished() == waiting
    flagged = Decision.objects.get(transaction__external_id="tx-2")
    assert flagged.explanation is None

    services_on.start()
    with start_worker(celery_app, perform_ping_check=False, pool="solo", concurrency=1, shutdown_timeout=10):
        assert outbox_relay() == waiting
        assert wait_until(lambda: Decision.objects.get(pk=flagged.pk).explanation is not None)
    assert Decision.objects.get(transaction__external_id="tx-1").explanation is None  # not flagged: on demand only
