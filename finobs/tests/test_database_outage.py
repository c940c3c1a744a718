"""PostgreSQL unreachable under a running server (a TCP proxy in front of it is cut): the API answers 503 with
Retry-After and its error body, nothing of the batch is stored, the probes say which dependency is down, and
once the database is back the same batch succeeds, once, without restarting the server."""

import time

import httpx
import pytest
from django.conf import settings
from django.db import connection

from conftest import transaction_record
from finobs.tests.processes import start_serve, stop
from finobs.tests.tcp_proxy import TcpProxy
from scoring.models import Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.server, pytest.mark.django_db(transaction=True)]

INGEST = "/api/v1/transactions/ingest"
OUTAGE_S = 45  # long enough for the pool's doubling retry delay to reach 16 s


@pytest.fixture
def database_proxy():
    db = connection.settings_dict
    with TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))) as proxy:
        yield proxy


@pytest.fixture
def server(database_proxy, champion):
    db = connection.settings_dict
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{database_proxy.port}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    process, base = start_serve(env)
    yield base
    stop(process)


def test_an_unreachable_database_answers_503_and_the_same_batch_succeeds_once_it_is_back(
    server, database_proxy, api_key
):
    _, raw = api_key
    client = httpx.Client(base_url=server, headers={"X-Webhook-Key": raw}, timeout=60)
    warm = client.post(INGEST, json=[transaction_record(n, external_id=f"warm-{n}") for n in range(20)])
    assert warm.status_code == 200, warm.text  # the server's pool holds connections through the proxy now
    batch = [transaction_record(n, external_id=f"cut-{n}") for n in range(500)]

    database_proxy.cut()
    cut_at = time.monotonic()
    refused = client.post(INGEST, json=batch)
    answered_s = time.monotonic() - cut_at
    assert refused.status_code == 503, refused.text
    while time.monotonic() - cut_at < OUTAGE_S:  # a client retrying all along, as integrations do
        assert client.post(INGEST, json=batch).status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    body = refused.json()
    assert body["code"] == "database_unavailable" and set(body) == {"code", "message", "details"}
    assert client.get("/health/live").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    checks = ready.json()["checks"]
    assert checks["database"]["ok"] is False and checks["redis"]["ok"] is True
    assert Transaction.objects.filter(external_id__startswith="cut-").count() == 0

    database_proxy.restore()
    restored_at = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        answer = client.post(INGEST, json=batch)
        if answer.status_code == 200:
            break
        assert answer.status_code == 503, answer.text
        assert time.monotonic() - restored_at < 30, "the server did not recover within 30 s"
        time.sleep(0.5)
    recovered_s = time.monotonic() - restored_at
    assert answer.json()["accepted"] == len(batch)
    assert client.get("/health/ready").json()["checks"]["database"]["ok"] is True
    again = client.post(INGEST, json=batch)
    assert again.status_code == 200 and again.json()["accepted"] == 0
    assert Transaction.objects.filter(external_id__startswith="cut-").count() == len(batch)
    print(
        f"\n503 answered {answered_s:.2f} s after the cut; database back after {OUTAGE_S} s; first 200 "
        f"{recovered_s:.2f} s after that ({attempts} attempts)"
    )
