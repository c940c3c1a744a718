"""Small API requests of one key share ingest runs (group commit); each still gets exactly its own result."""

import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from conftest import default_organisation, run_in_threads, suspicious_record, transaction_record
from ingestion.services import ingest
from ingestion.services.coalescing import _queues, _Request, _run, ingest_coalesced
from scoring.inference import NoChampionModel
from scoring.models import Decision, Transaction

URL = "/api/v1/transactions/ingest"


def run_together(requests: list[list], *, source="acme", actor="tests") -> list:
    """One shared run of `requests`, as the leader takes them from the queue."""
    waiting = [_Request(records) for records in requests]
    _run(waiting, organisation=default_organisation(), source=source, actor=actor)
    assert all(request.done for request in waiting)
    return waiting


@pytest.mark.django_db
class TestSharedRun:
    def test_each_request_gets_its_own_indexes_errors_duplicates_and_decisions(self, champion):
        ingest(
            [transaction_record(900)], organisation=default_organisation(), source="acme", actor="tests"
        )  # stored before
        a, b, c = run_together(
            [
                [transaction_record(1), {"external_id": "bad"}, suspicious_record(2)],
                [transaction_record(1), transaction_record(3), transaction_record(3)],
                [transaction_record(900), transaction_record(4)],
            ]
        )
        assert a.result.accepted == 2 and a.result.flagged == 1
        assert [d["external_id"] for d in a.result.decisions] == ["tx-1", "tx-2"]
        assert {e.index for e in a.result.errors} == {1} and a.result.duplicates == []

        # tx-1 came in request a of the same run: b hears it was stored, with the decision a got.
        stored_tx1 = a.result.decisions[0]
        assert b.result.accepted == 1
        assert [d["external_id"] for d in b.result.decisions] == ["tx-3"]
        assert b.result.errors == []
        by_index = {d["index"]: d for d in b.result.duplicates}
        assert set(by_index) == {0, 2}
        assert by_index[0]["decision"]["transaction_id"] == stored_tx1["transaction_id"]
        assert by_index[0]["decision"]["risk_level"] == stored_tx1["risk_level"]
        assert by_index[2]["duplicate_of_index"] == 1  # within b itself

        assert c.result.accepted == 1 and [d["external_id"] for d in c.result.decisions] == ["tx-4"]
        assert [d["index"] for d in c.result.duplicates] == [0] and "decision" in c.result.duplicates[0]

        assert Transaction.objects.filter(source="acme").count() == 5
        assert Decision.objects.count() == 5
        # One run, one batch audit event (plus the one of the earlier single ingest).
        assert AuditEvent.objects.filter(action="ingest.batch").count() == 2

    def test_a_failed_shared_run_runs_each_request_alone(self, db):
        # No champion: the shared run fails, then every request fails alone with its own error.
        a, b = run_together([[transaction_record(1)], [transaction_record(2)]])
        assert isinstance(a.error, NoChampionModel) and isinstance(b.error, NoChampionModel)
        assert a.result is None and b.result is None
        assert not Transaction.objects.exists()


# Concurrent writers need a real server: the SQLite test database (in memory, shared cache) refuses them.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_single_item_requests_share_runs_and_each_gets_its_decision(champion, api_key):
    _, raw = api_key
    n = 12

    def post_one(i):
        response = Client().post(
            URL, data=json.dumps([transaction_record(i)]), content_type="application/json", HTTP_X_WEBHOOK_KEY=raw
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["accepted"] == 1
        assert body["decisions"][0]["external_id"] == f"tx-{i}"
        return body["decisions"][0]["transaction_id"]

    ids = run_in_threads(post_one, n)
    assert sorted(ids) == sorted(Transaction.objects.filter(source="acme").values_list("pk", flat=True))
    assert len(set(ids)) == n
    assert not _queues  # every queue is gone once its requests are answered


@pytest.mark.django_db
def test_requests_over_the_item_limit_run_alone(champion, settings):
    settings.INGEST_COALESCE_MAX_REQUEST_ITEMS = 1
    result = ingest_coalesced(
        [transaction_record(1), transaction_record(2)],
        organisation=default_organisation(),
        source="acme",
        actor="tests",
    )
    assert result.accepted == 2 and "queued" not in result.timings_ms
