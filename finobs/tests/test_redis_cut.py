"""Redis unreachable under a running server (a TCP proxy in front of it is cut): ingest keeps answering 200, a
new SSE stream still opens and delivers by polling the outbox, the readiness probe names redis, and when Redis
is back the probe is ready again without a restart."""

import contextlib
import json
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings

from conftest import child_database_env, transaction_record, wait_until
from finobs.tests.processes import start_serve, stop
from finobs.tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.server, pytest.mark.django_db(transaction=True)]

INGEST = "/api/v1/transactions/ingest"


@pytest.fixture
def redis_proxy():
    address = urlsplit(settings.REDIS_URL)
    with TcpProxy((address.hostname, address.port or 6379)) as proxy:
        proxy.url = urlunsplit(address._replace(netloc=f"127.0.0.1:{proxy.port}"))
        yield proxy


@pytest.fixture
def server(redis_proxy, champion):
    process, base = start_serve({**child_database_env(), "REDIS_URL": redis_proxy.url, "STREAM_POLL_S": "0.5"})
    yield base
    stop(process)


class StreamReader(threading.Thread):
    """Follows a new SSE stream and keeps the external ids of its decision events."""

    def __init__(self, base: str, key: str):
        super().__init__(daemon=True)
        self.base, self.key = base, key
        self.opened = threading.Event()
        self.external_ids: list[str] = []

    def run(self):
        headers = {"Authorization": f"Bearer {self.key}"}
        url = f"{self.base}/api/v1/stream/decisions"
        with contextlib.suppress(httpx.HTTPError), httpx.stream("GET", url, headers=headers, timeout=30) as response:
            self.status = response.status_code
            self.opened.set()
            for line in response.iter_lines():  # until the server stops at the test's end
                if line.startswith("data: "):
                    self.external_ids.append(json.loads(line.removeprefix("data: "))["external_id"])


def test_with_redis_cut_ingest_and_the_stream_keep_working_and_readiness_names_redis(server, redis_proxy, api_key):
    _, raw = api_key
    client = httpx.Client(base_url=server, headers={"X-Webhook-Key": raw}, timeout=60)
    assert client.post(INGEST, json=[transaction_record(1, external_id="before")]).status_code == 200

    redis_proxy.cut()
    stream = StreamReader(server, raw)  # opened during the cut
    stream.start()
    assert stream.opened.wait(20) and stream.status == 200
    time.sleep(1)  # the stream has read the outbox's end: it shows what comes next
    started = time.monotonic()
    answer = client.post(INGEST, json=[transaction_record(n, external_id=f"redis-cut-{n}") for n in range(50)])
    took_s = time.monotonic() - started
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 50
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"]["ok"] is False
    assert ready.json()["checks"]["database"]["ok"] is True
    assert wait_until(lambda: len(stream.external_ids) >= 50, 20), stream.external_ids  # by polling the outbox
    assert sorted(stream.external_ids) == sorted(f"redis-cut-{n}" for n in range(50))

    redis_proxy.restore()
    restored_at = time.monotonic()
    while client.get("/health/ready").json()["checks"]["redis"]["ok"] is not True:
        assert time.monotonic() - restored_at < 30, "Redis not seen again within 30 s"
        time.sleep(0.2)
    recovered_s = time.monotonic() - restored_at
    assert client.post(INGEST, json=[transaction_record(1, external_id="after")]).status_code == 200
    print(f"\ningest with Redis cut: 200 in {took_s:.2f} s; Redis seen again {recovered_s:.2f} s after it came back")
