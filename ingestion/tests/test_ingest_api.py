"""POST /api/v1/transactions/ingest through the public API."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys.services import api_key_create, api_key_revoke
from audit.services import audit_verify
from cases.models import Case
from conftest import default_organisation, suspicious_record, transaction_record
from delivery.models import OutboxEvent
from ingestion.services import ingest
from scoring.models import Decision, Transaction
from scoring.services.experiments import experiment_start
from scoring.tests.builders import copy_model_version

URL = "/api/v1/transactions/ingest"
pytestmark = pytest.mark.django_db


def post(body, key=None, *, content_type="application/json", header="X-Webhook-Key"):
    headers = {}
    if key is not None:
        headers = {"HTTP_X_WEBHOOK_KEY": key} if header == "X-Webhook-Key" else {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Client().post(URL, data=data, content_type=content_type, **headers)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "details"}
    assert body["message"]
    return body


class TestAuthentication:
    def test_missing_key_is_401(self, champion):
        assert_error(post([transaction_record()]), 401, "not_authenticated")

    def test_wrong_key_is_401(self, champion, api_key):
        _, raw = api_key
        assert_error(post([transaction_record()], raw[:-2] + "xx"), 401, "authentication_failed")
        assert_error(post([transaction_record()], "not-a-key"), 401, "authentication_failed")
        assert not Transaction.objects.exists()

    def test_revoked_key_is_401(self, champion, api_key):
        key, raw = api_key
        api_key_revoke(key=key)
        assert_error(post([transaction_record()], raw), 401, "authentication_failed")

    def test_key_without_ingest_scope_is_403(self, champion):
        _, raw = api_key_create(organisation=default_organisation(), name="reader", source="reader", scopes=["read"])
        assert_error(post([transaction_record()], raw), 403, "permission_denied")

    def test_bearer_header_works(self, champion, api_key):
        _, raw = api_key
        response = post([transaction_record()], raw, header="Authorization")
        assert response.status_code == 200
        key = api_key[0]
        key.refresh_from_db()
        assert key.last_used_at is not None


class TestBatches:
    def test_batch_of_one(self, champion, api_key):
        response = post([transaction_record(7)], api_key[1])
        assert response.status_code == 200
        body = response.json()
        assert body["accepted"] == 1 and body["errors"] == [] and body["duplicates"] == []
        (decision,) = body["decisions"]
        assert decision["external_id"] == "tx-7"
        assert 0.0 <= decision["score"] <= 1.0
        assert decision["risk_level"] in {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
        assert decision["model_version"] == champion.version
        stored = Decision.objects.select_related("transaction").get()
        assert stored.transaction.source == "acme"
        assert stored.transaction.account_id == "acc-7"
        assert str(stored.transaction.amount) == "42.5000"

    def test_envelope_object_and_unknown_fields_kept_in_metadata(self, champion, api_key):
        record = transaction_record(1, device_id="dev-9", metadata={"ip_country": "DE"})
        response = post({"transactions": [record]}, api_key[1])
        assert response.json()["accepted"] == 1
        assert Transaction.objects.get().metadata == {"device_id": "dev-9", "ip_country": "DE"}

    @pytest.mark.slow
    def test_batch_of_10000(self, champion, api_key):
        records = [transaction_record(i, account_id=f"acc-{i % 700}") for i in range(10_000)]
        response = post(records, api_key[1])
        assert response.status_code == 200
        body = response.json()
        assert body["accepted"] == 10_000
        assert len(body["decisions"]) == 10_000
        assert Decision.objects.count() == 10_000
        assert OutboxEvent.objects.filter(event_type="decision.created").count() == 10_000

    def test_10001_items_is_413_and_stores_nothing(self, champion, api_key):
        records = [transaction_record(i) for i in range(10_001)]
        body = assert_error(post(records, api_key[1]), 413, "batch_too_large")
        assert body["details"] == {"max_items": 10_000, "received_items": 10_001}
        assert not Transaction.objects.exists()

    def test_query_count_does_not_grow_with_batch_size(self, champion, api_key, settings):
        settings.API_KEY_CACHE_S = 3600  # a key read again when its cache expires mid-test is not the batch's
        # Warm up: the first ingest loads the champion, stamps the key's last use, creates the case counter.
        post([suspicious_record(999_999)], api_key[1])

        def queries_for(n, offset):
            records = [suspicious_record(offset + i, account_id=f"acc-{offset + i}") for i in range(n)]
            with CaptureQueriesContext(connection) as ctx:
                assert post(records, api_key[1]).json()["accepted"] == n
            return len(ctx.captured_queries)

        # SQLite caps bound parameters per statement (Django splits bulk inserts at 999: 25 new cases'
        # history rows fit in one INSERT), so the batch there stays within one INSERT; PostgreSQL shows
        # it for a large batch. On PostgreSQL batches up to kernel.bulk.SMALL_BATCH rows take single
        # INSERTs, larger ones COPY: each path has its own constant.
        assert queries_for(5, 0) == queries_for(25, 1000)
        if connection.vendor == "postgresql":
            assert queries_for(150, 2000) == queries_for(400, 3000)


class TestDuplicates:
    def test_resending_a_batch_changes_nothing(self, champion, api_key):
        records = [transaction_record(i) for i in range(5)]
        first = post(records, api_key[1]).json()
        again = post(records, api_key[1]).json()
        assert again["accepted"] == 0 and again["decisions"] == []
        assert [d["index"] for d in again["duplicates"]] == [0, 1, 2, 3, 4]
        by_id = {d["external_id"]: d for d in first["decisions"]}
        for duplicate in again["duplicates"]:
            assert duplicate["decision"]["score"] == pytest.approx(by_id[duplicate["external_id"]]["score"], abs=1e-6)
            assert duplicate["decision"]["transaction_id"] == by_id[duplicate["external_id"]]["transaction_id"]
        assert Transaction.objects.count() == 5

    def test_duplicate_within_one_batch(self, champion, api_key):
        body = post([transaction_record(1), transaction_record(2), transaction_record(1)], api_key[1]).json()
        assert body["accepted"] == 2
        assert body["duplicates"] == [{"index": 2, "external_id": "tx-1", "duplicate_of_index": 0}]

    def test_same_external_id_from_another_source_is_not_a_duplicate(self, champion, api_key):
        _, other = api_key_create(
            organisation=default_organisation(), name="Other bank", source="other", scopes=["ingest"]
        )
        assert post([transaction_record(1)], api_key[1]).json()["accepted"] == 1
        assert post([transaction_record(1)], other).json()["accepted"] == 1


class TestInvalidInput:
    def test_invalid_items_are_reported_and_valid_ones_stored(self, champion, api_key):
        records = [
            transaction_record(1),
            transaction_record(2, amount="12,50"),
            transaction_record(3, timestamp="2026-11-20T14:03:00"),
            {k: v for k, v in transaction_record(4).items() if k != "account_id"},
            transaction_record(5, currency="EURO"),
            transaction_record(6, merchant_category="54"),
            "not an object",
            transaction_record(8),
        ]
        response = post(records, api_key[1])
        assert response.status_code == 200
        body = response.json()
        assert body["accepted"] == 2
        assert [(e["index"], e["field"]) for e in body["errors"]] == [
            (1, "amount"),
            (2, "timestamp"),
            (3, "account_id"),
            (4, "currency"),
            (5, "merchant_category"),
            (6, "item"),
        ]
        assert all(e["message"] for e in body["errors"])
        assert set(Transaction.objects.values_list("external_id", flat=True)) == {"tx-1", "tx-8"}

    def test_all_items_invalid_is_400(self, champion, api_key):
        body = assert_error(post([{"external_id": "x"}], api_key[1]), 400, "invalid_items")
        assert body["details"]["errors"][0]["index"] == 0

    def test_malformed_json(self, champion, api_key):
        assert_error(post('[{"external_id": "a",', api_key[1]), 400, "malformed_json")

    def test_wrong_content_type(self, champion, api_key):
        assert_error(post("external_id=a", api_key[1], content_type="text/plain"), 415, "unsupported_media_type")

    @pytest.mark.parametrize("body", [{}, {"transactions": "no"}, "42", "null"])
    def test_wrong_envelope(self, champion, api_key, body):
        assert_error(post(body, api_key[1]), 400, "invalid_envelope")

    def test_empty_batch(self, champion, api_key):
        assert_error(post([], api_key[1]), 400, "empty_batch")

    def test_get_is_405_in_error_shape(self, champion, api_key):
        response = Client().get(URL, HTTP_X_WEBHOOK_KEY=api_key[1])
        assert_error(response, 405, "method_not_allowed")


class TestPipeline:
    def test_flagged_decision_opens_a_case_and_later_ones_join_it(self, champion, api_key):
        first = post([suspicious_record(1, account_id="acc-x")], api_key[1]).json()
        (decision,) = first["decisions"]
        assert decision["flagged"] is True
        assert decision["case_reference"].startswith("CASE-")
        case = Case.objects.get(reference=decision["case_reference"])
        assert case.account_id == "acc-x" and case.status == "new"

        second = post([suspicious_record(2, account_id="acc-x")], api_key[1]).json()
        assert second["decisions"][0]["case_reference"] == case.reference
        assert Case.objects.count() == 1
        assert case.transactions.count() == 2
        assert list(case.events.values_list("kind", flat=True)) == ["opened", "transactions_added"]

    def test_a_batch_that_opens_and_joins_cases_appends_the_cases_entries_then_its_own(self, champion):
        from audit.models import AuditEvent

        ingest(
            [suspicious_record(1, account_id="acc-x")],
            organisation=default_organisation(),
            source="acme",
            actor="tests",
        )
        records = [suspicious_record(2, account_id="acc-x"), suspicious_record(3, account_id="acc-y")]
        with CaptureQueriesContext(connection) as queries:
            result = ingest(records, organisation=default_organisation(), source="acme", actor="tests")
        assert result.flagged == 2
        heads_read = [q for q in queries.captured_queries if 'FROM "audit_auditevent"' in q["sql"]]
        assert len(heads_read) == 2  # one append by cases (all its entries), one by the pipeline
        actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
        assert actions[-3:] == ["case.opened", "case.transactions_added", "ingest.batch"]
        assert audit_verify().ok

    def test_unflagged_decisions_open_no_case(self, champion, api_key):
        body = post([transaction_record(i) for i in range(3)], api_key[1]).json()
        assert all(not d["flagged"] and d["case_reference"] is None for d in body["decisions"])
        assert not Case.objects.exists()

    def test_every_batch_is_audited_and_the_chain_verifies(self, champion, api_key):
        post([suspicious_record(1)], api_key[1])
        post([transaction_record(2)], api_key[1])
        from audit.models import AuditEvent

        batches = AuditEvent.objects.filter(action="ingest.batch")
        assert batches.count() == 2
        assert batches.first().actor == f"api:{api_key[0].prefix}"
        assert AuditEvent.objects.filter(action="case.opened").count() == 1
        assert audit_verify().ok


@pytest.mark.django_db
def test_the_response_names_the_version_that_scored_each_item(champion, make_user):
    """Under a champion/challenger experiment each decision reports its own model's version."""
    challenger = copy_model_version(champion)
    experiment_start(challenger=challenger, challenger_share=0.5, name="", actor=make_user("compliance"))
    result = ingest(
        [transaction_record(i, account_id=f"acc-{i}") for i in range(200)],
        organisation=default_organisation(),
        source="tests",
        actor="tests",
    )

    stored = dict(Decision.objects.values_list("transaction_id", "model_version__version"))
    reported = {d["transaction_id"]: d["model_version"] for d in result.decisions}
    assert reported == stored and set(reported.values()) == {champion.version, challenger.version}
