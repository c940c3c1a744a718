"""decision.created outbox events: one per stored decision, in order, the same payload and data on every database."""

from datetime import datetime

import pytest

from conftest import default_organisation, suspicious_record, transaction_record
from delivery import selectors
from delivery.models import DECISION_CREATED, OutboxEvent
from delivery.selectors import events_data
from ingestion.services import ingest
from scoring.models import Decision, Transaction

pytestmark = pytest.mark.django_db


def test_events_store_what_filters_read_and_give_the_whole_decision_as_data(champion):
    record = transaction_record(1, amount="42.5", timestamp="2026-11-20T14:03:00.250+02:00")
    result = ingest([record, suspicious_record(2)], organisation=default_organisation(), source="acme", actor="tests")
    events = list(OutboxEvent.objects.filter(event_type=DECISION_CREATED).order_by("id"))
    first = Decision.objects.select_related("transaction", "model_version").get(transaction__external_id="tx-1")
    second = Decision.objects.get(transaction__external_id="tx-2")
    # Stored: what the relay's hints and the feed's and callbacks' filters read (the same on every database).
    assert [e.payload for e in events] == [
        {
            "transaction_id": first.transaction_id,
            "source": "acme",
            "risk_level": first.risk_level,
            "flagged": False,
            "case_reference": None,
        },
        {
            "transaction_id": second.transaction_id,
            "source": "acme",
            "risk_level": second.risk_level,
            "flagged": True,
            "case_reference": result.decisions[1]["case_reference"],
        },
    ]
    data = events_data([(e.event_type, e.payload) for e in events])
    assert data[0] == {
        "transaction_id": first.transaction_id,
        "external_id": "tx-1",
        "source": "acme",
        "account_id": record["account_id"],
        "amount": "42.5000",
        "currency": "EUR",
        "occurred_at": data[0]["occurred_at"],
        "score": pytest.approx(round(first.score, 6), abs=1e-9),
        "risk_level": first.risk_level,
        "flagged": False,
        "model_version": first.model_version.version,
        "case_reference": None,
        "created_at": data[0]["created_at"],
    }
    # ISO 8601 in UTC (PostgreSQL writes fractions of a second with fewer digits).
    for name, stored in (("occurred_at", first.transaction.occurred_at), ("created_at", first.created_at)):
        assert data[0][name].endswith("+00:00") and datetime.fromisoformat(data[0][name]) == stored
    assert data[0]["occurred_at"].startswith("2026-11-20T12:03:00.25")
    assert data[1]["external_id"] == "tx-2" and data[1]["flagged"] is True
    assert data[1]["case_reference"] == result.decisions[1]["case_reference"]
    assert data[1]["case_reference"].startswith("CASE-")
    # The case is announced (case.opened, published by cases while it opens it) before the decision that names it.
    case_events = OutboxEvent.objects.filter(event_type="case.opened")
    assert case_events.count() == 1 and case_events.get().id < events[1].id


def test_data_of_events_of_other_types_and_of_a_deleted_decision_is_the_payload_as_stored(champion):
    ingest([transaction_record(1)], organisation=default_organisation(), source="acme", actor="tests")
    stored = OutboxEvent.objects.get(event_type=DECISION_CREATED).payload
    Transaction.objects.filter(pk=stored["transaction_id"]).delete()  # its decision goes with it
    events = [("case.opened", {"reference": "CASE-1"}), (DECISION_CREATED, stored)]
    assert events_data(events) == [{"reference": "CASE-1"}, stored]


def test_a_process_reads_each_events_data_once_and_keeps_a_bounded_number(
    champion, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(selectors, "EVENT_DATA_KEPT", 2)
    ingest(
        [transaction_record(i) for i in (1, 2, 3)], organisation=default_organisation(), source="acme", actor="tests"
    )
    events = [(e.event_type, e.payload) for e in OutboxEvent.objects.filter(event_type=DECISION_CREATED).order_by("id")]
    with django_assert_num_queries(1):
        first = events_data(events)
    assert [d["external_id"] for d in first] == ["tx-1", "tx-2", "tx-3"]
    with django_assert_num_queries(0):  # the two kept: the newest read
        assert events_data(events[1:]) == first[1:]
    with django_assert_num_queries(1):  # the oldest was let go
        assert events_data(events[:1]) == first[:1]
