"""gzip for large JSON responses only (kernel.middleware.JsonGZipMiddleware): never pages, streams or small answers."""

import gzip
import json

import pytest
from django.test import Client

from conftest import transaction_record

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/transactions/ingest"


def ingest(raw: str, records: list[dict], **headers):
    return Client().post(
        INGEST, data=json.dumps(records), content_type="application/json", HTTP_X_WEBHOOK_KEY=raw, **headers
    )


def test_a_large_json_response_goes_gzipped_to_clients_that_accept_it(champion, api_key):
    _, raw = api_key
    batch = [transaction_record(n) for n in range(200)]
    plain = ingest(raw, batch, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert plain.status_code == 200 and "Content-Encoding" not in plain
    # The same key replays the same answer, asked for gzipped this time.
    zipped = ingest(raw, batch, HTTP_IDEMPOTENCY_KEY="batch-1", HTTP_ACCEPT_ENCODING="br, gzip, deflate")
    assert zipped["Idempotent-Replayed"] == "true" and zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"] and zipped["Content-Type"] == "application/json"
    assert int(zipped["Content-Length"]) == len(zipped.content) < len(plain.content) / 4
    assert gzip.decompress(zipped.content) == plain.content
    assert len(json.loads(plain.content)["decisions"]) == 200


def test_a_small_json_response_goes_as_it_is(champion, api_key, settings):
    _, raw = api_key
    response = ingest(raw, [transaction_record(1)], HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert 200 <= len(response.content) < settings.GZIP_MIN_BYTES  # Django's GZipMiddleware would compress it
    assert "Content-Encoding" not in response and "Accept-Encoding" not in response.get("Vary", "")


def test_without_accept_encoding_a_large_json_response_goes_plain(champion, api_key):
    _, raw = api_key
    response = ingest(raw, [transaction_record(n) for n in range(200)])
    assert response.status_code == 200 and "Content-Encoding" not in response
    assert "Accept-Encoding" in response["Vary"]  # a cache must not hand this to a client that asked for gzip
    assert len(json.loads(response.content)["decisions"]) == 200


def test_pages_are_never_compressed(client, make_user, settings):
    client.force_login(make_user("analyst"))
    response = client.get("/cases/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert len(response.content) > settings.GZIP_MIN_BYTES
    assert "Content-Encoding" not in response and "Accept-Encoding" not in response.get("Vary", "")
