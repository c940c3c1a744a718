"""Many clients ingesting overlapping batches at once, against the real server process: every request is
answered 200 and every transaction is stored once, on SQLite (one writer at a time) as on PostgreSQL."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from conftest import run_in_threads, suspicious_record, transaction_record
from scoring.models import Transaction

pytestmark = [pytest.mark.server, pytest.mark.slow]

CLIENTS = 8
ITEMS = 4000
OVERLAP_STEP = 300  # client i sends items [i * 300, i * 300 + 4000): each overlaps all the others


def _record(n: int) -> dict:
    """A third of them suspicious: the batches open and join cases, as real traffic does."""
    build = suspicious_record if n % 3 == 0 else transaction_record
    return build(n, account_id=f"acc-{n % 97}")


@pytest.fixture
def short_busy_timeout():
    """On SQLite, writers give up waiting for the write lock after 1 s instead of minutes, so that the test
    meets "database is locked" (as a long queue of big batches does) and shows it is retried, not a 500."""
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    if "timeout" not in options:  # PostgreSQL: nothing to shorten
        yield
        return
    before, options["timeout"] = options["timeout"], 1
    yield
    options["timeout"] = before


def test_eight_clients_posting_overlapping_batches_at_once_all_succeed(
    champion, api_key, short_busy_timeout, live_server_url
):
    address = urlsplit(live_server_url)
    _, raw = api_key

    def client(i: int) -> tuple[int, dict]:
        records = [_record(n) for n in range(i * OVERLAP_STEP, i * OVERLAP_STEP + ITEMS)]
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
        connection.request(
            "POST",
            "/api/v1/transactions/ingest",
            body=json.dumps(records),
            headers={"Content-Type": "application/json", "X-Webhook-Key": raw},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())

    answers = run_in_threads(client, CLIENTS, timeout_s=600)
    assert [status for status, _ in answers] == [200] * CLIENTS, [body for status, body in answers if status != 200]
    unique = OVERLAP_STEP * (CLIENTS - 1) + ITEMS
    assert sum(body["accepted"] for _, body in answers) == unique  # each stored by exactly one request
    assert all(body["accepted"] + len(body["duplicates"]) == ITEMS for _, body in answers)
    assert Transaction.objects.filter(source="acme").count() == unique
