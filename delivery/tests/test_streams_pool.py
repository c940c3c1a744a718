"""The web process' connection pool (DATABASE_POOL_MAX) under daphne, as deployed: open SSE streams hold none.

Each stream's reads go through channels' database_sync_to_async, which closes the thread's connection
after each read; with the pool (CONN_MAX_AGE 0) that hands it back, so streams never starve requests.
"""

import threading
import time

import httpx
import pytest
from django.conf import settings

from apikeys.services import api_key_create
from conftest import child_database_env, default_organisation, run_daphne

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
POOL = 2


@pytest.fixture
def daphne_with_a_small_pool():
    """finobs.asgi under daphne on the test database, with a pool of POOL connections."""
    env = {**child_database_env(), "REDIS_URL": settings.REDIS_URL, "DATABASE_POOL_MAX": str(POOL), "DEBUG": "1"}
    yield from run_daphne(env)


def test_more_open_streams_than_pooled_connections_leave_the_api_working(daphne_with_a_small_pool):
    base = daphne_with_a_small_pool
    _, raw = api_key_create(
        organisation=default_organisation(),
        name="pool",
        source="pool",
        scopes=["stream", "read"],
        rate_limit="1000/min",
    )
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
