"""The web process' connection pool (DATABASE_POOL_MAX) under daphne, as deployed: open SSE streams hold none.

Each stream's reads go through channels' database_sync_to_async, which closes the thread's connection
after each read; with the pool (CONN_MAX_AGE 0) that hands it back, so streams never starve requests.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from apikeys.services import api_key_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
POOL = 2


@pytest.fixture
def daphne_with_a_small_pool():
    """finobs.asgi under daphne on the test database, with a pool of POOL connections."""
    db = connection.settings_dict
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_POOL_MAX": str(POOL),
        "DEBUG": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "finobs.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/health/live", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline and process.poll() is None, "daphne did not start"
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


def test_more_open_streams_than_pooled_connections_leave_the_api_working(daphne_with_a_small_pool):
    base = daphne_with_a_small_pool
    _, raw = api_key_create(name="pool", source="pool", scopes=["stream", "read"], rate_limit="1000/min")
    headers = {"X-Webhook-Key": raw}
    opened, stop, streams = [], threading.Event(), []

    def follow():
        with (
            httpx.Client(base_url=base, headers=headers, timeout=30) as client,
            client.stream("GET", "/api/v1/stream/decisions") as response,
        ):
            opened.append(response.status_code)
            stop.wait(30)

    for _ in range(POOL + 2):
        streams.append(threading.Thread(target=follow))
        streams[-1].start()
    deadline = time.monotonic() + 20
    while len(opened) < POOL + 2:
        assert time.monotonic() < deadline, f"only {len(opened)} streams opened"
        time.sleep(0.05)
    try:
        assert opened == [200] * (POOL + 2)
        started = time.monotonic()
        # A key-authenticated read: it needs a connection from the pool (the key lookup) to answer at all.
        response = httpx.get(f"{base}/api/v1/transactions/999999/", headers=headers, timeout=30)
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
        assert time.monotonic() - started < 5  # not a wait for a connection (the pool's timeout is 10 s)
    finally:
        stop.set()
        for thread in streams:
            thread.join(10)
