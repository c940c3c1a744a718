"""Idempotency-Key on POST /api/v1/transactions/ingest."""

import json
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from apikeys.services import api_key_create
from audit.services import CHAIN_LOCK_CLASS
from conftest import default_organisation, run_in_threads, thread_in_this_context, transaction_record
from ingestion.models import IdempotencyKey
from ingestion.services.idempotency import idempotency_prune
from ingestion.tasks import idempotency_prune_task
from scoring.models import Transaction

URL = "/api/v1/transactions/ingest"


def post(body, key, idempotency_key=None):
    headers = {"HTTP_X_WEBHOOK_KEY": key}
    if idempotency_key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Client().post(URL, data=data, content_type="application/json", **headers)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and set(body) == {"code", "message", "details"} and body["message"]
    return body


@pytest.mark.django_db
class TestIdempotencyKey:
    def test_same_key_same_body_replays_the_stored_response(self, champion, api_key):
        batch = [transaction_record(i) for i in range(3)]
        first = post(batch, api_key[1], "order-42")
        assert first.status_code == 200 and first.json()["accepted"] == 3
        assert "Idempotent-Replayed" not in first

        again = post(batch, api_key[1], "order-42")
        assert again.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
        assert again.content == first.content  # the first response, not "accepted: 0, duplicates: 3"
        assert Transaction.objects.count() == 3

    def test_same_key_different_body_is_422(self, champion, api_key):
        assert post([transaction_record(1)], api_key[1], "k-1").status_code == 200
        body = assert_error(post([transaction_record(2)], api_key[1], "k-1"), 422, "idempotency_key_reused")
        assert body["details"] == {"idempotency_key": "k-1"}
        assert Transaction.objects.count() == 1

    def test_keys_belong_to_their_api_key(self, champion, api_key):
        _, other = api_key_create(organisation=default_organisation(), name="Other", source="other", scopes=["ingest"])
        assert post([transaction_record(1)], api_key[1], "shared").status_code == 200
        response = post([transaction_record(2)], other, "shared")
        assert response.status_code == 200 and "Idempotent-Replayed" not in response
        assert IdempotencyKey.objects.filter(key="shared").count() == 2

    def test_without_a_key_a_resend_reports_duplicates(self, champion, api_key):
        batch = [transaction_record(1)]
        post(batch, api_key[1])
        again = post(batch, api_key[1]).json()
        assert again["accepted"] == 0 and len(again["duplicates"]) == 1
        assert not IdempotencyKey.objects.exists()

    @pytest.mark.parametrize("bad", ["", "   ", "x" * 256, "caf\u00e9"])
    def test_invalid_keys_are_400_and_store_nothing(self, champion, api_key, bad):
        headers = {"HTTP_X_WEBHOOK_KEY": api_key[1], "HTTP_IDEMPOTENCY_KEY": bad}
        response = Client().post(
            URL, data=json.dumps([transaction_record(1)]), content_type="application/json", **headers
        )
        assert_error(response, 400, "invalid_idempotency_key")
        assert not Transaction.objects.exists() and not IdempotencyKey.objects.exists()

    def test_a_255_character_key_is_fine(self, champion, api_key):
        assert post([transaction_record(1)], api_key[1], "k" * 255).status_code == 200

    def test_an_all_invalid_batch_is_stored_as_its_400(self, champion, api_key):
        first = post([{"external_id": "x"}], api_key[1], "bad-batch")
        assert_error(first, 400, "invalid_items")
        again = post([{"external_id": "x"}], api_key[1], "bad-batch")
        assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"
        assert again.content == first.content

    def test_a_failed_ingest_releases_the_key(self, api_key):
        # No champion model: the ingest fails (503, nothing stored) and the key can be used again.
        batch = [transaction_record(1)]
        assert_error(post(batch, api_key[1], "retry-me"), 503, "no_model")
        assert not IdempotencyKey.objects.exists()
        assert_error(post(batch, api_key[1], "retry-me"), 503, "no_model")

    def test_malformed_body_claims_nothing(self, champion, api_key):
        assert_error(post('[{"external_id": ', api_key[1], "k"), 400, "malformed_json")
        assert not IdempotencyKey.objects.exists()

    def test_expired_keys_are_pruned_and_can_be_reused(self, champion, api_key, settings):
        settings.IDEMPOTENCY_TTL_HOURS = 24
        assert post([transaction_record(1)], api_key[1], "old").status_code == 200
        IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
        # Before the prune ran: an expired key is not replayed; the new body is simply a new request.
        response = post([transaction_record(2)], api_key[1], "old")
        assert response.status_code == 200 and "Idempotent-Replayed" not in response
        assert response.json()["accepted"] == 1
        IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
        assert post([transaction_record(3)], api_key[1], "fresh").status_code == 200
        # The task as beat schedules it, run here (with Redis configured, delay() would only queue it).
        assert settings.CELERY_BEAT_SCHEDULE["idempotency-prune"]["task"] == idempotency_prune_task.name
        assert idempotency_prune_task.apply().get() == 1
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
        assert idempotency_prune() == 0

    def test_an_abandoned_claim_is_taken_over(self, champion, api_key):
        key, raw = api_key
        IdempotencyKey.objects.create(
            api_key=key, key="crashed", request_sha256="0" * 64, created_at=timezone.now() - timedelta(hours=1)
        )
        response = post([transaction_record(1)], raw, "crashed")
        assert response.status_code == 200 and response.json()["accepted"] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrentRequests:
    def test_a_request_in_flight_makes_the_same_key_409_then_replays(self, champion, api_key):
        """The first request claims the key, then waits on the audit chain lock that the test holds."""
        settings_dict = connection.settings_dict
        batch = [transaction_record(i) for i in range(3)]
        responses = {}
        conninfo = psycopg.conninfo.make_conninfo(
            dbname=settings_dict["NAME"],
            user=settings_dict["USER"],
            host=settings_dict["HOST"],
            port=settings_dict["PORT"] or 5432,
            password=settings_dict["PASSWORD"] or None,
        )
        with psycopg.connect(conninfo, autocommit=True) as blocker:
            chain_lock = [CHAIN_LOCK_CLASS, api_key[0].organisation_id]  # the key's organisation's chain
            blocker.execute("SELECT pg_advisory_lock(%s, %s)", chain_lock)

            def first():
                try:
                    responses["first"] = post(batch, api_key[1], "in-flight")
                finally:
                    connection.close()

            thread = thread_in_this_context(first)
            thread.start()
            deadline = time.monotonic() + 30
            while not IdempotencyKey.objects.filter(key="in-flight").exists():
                assert time.monotonic() < deadline, "the first request never claimed its key"
                time.sleep(0.05)
            body = assert_error(post(batch, api_key[1], "in-flight"), 409, "idempotency_key_in_progress")
            assert body["details"] == {"idempotency_key": "in-flight"}
            assert thread.is_alive()
            blocker.execute("SELECT pg_advisory_unlock(%s, %s)", chain_lock)
            thread.join(60)
        assert responses["first"].status_code == 200 and responses["first"].json()["accepted"] == 3
        replay = post(batch, api_key[1], "in-flight")
        assert replay["Idempotent-Replayed"] == "true" and replay.content == responses["first"].content
        assert Transaction.objects.count() == 3

    def test_two_requests_racing_with_one_key_ingest_once(self, champion, api_key):
        batch = [transaction_record(i) for i in range(20)]
        responses = run_in_threads(lambda _: post(batch, api_key[1], "race"), 2)
        fresh = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r]
        others = [r for r in responses if r not in fresh]
        assert len(fresh) == 1 and fresh[0].json()["accepted"] == 20
        (other,) = others
        assert other.status_code == 409 or (
            other["Idempotent-Replayed"] == "true" and other.content == fresh[0].content
        )
        assert Transaction.objects.count() == 20
