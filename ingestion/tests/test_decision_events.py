"""decision.created outbox events: one per stored decision, in order, the same payload on every database."""

import pytest

from conftest import suspicious_record, transaction_record
from ingestion.models import OutboxEvent
from ingestion.services import DECISION_CREATED, ingest
from scoring.models import Decision

pytestmark = pytest.mark.django_db


def test_payload_shape_in_utc_with_the_stored_amount(champion):
    record = transaction_record(1, amount="42.5", timestamp="2026-11-20T14:03:00.250+02:00")
    result = ingest([record, suspicious_record(2)], source="acme", actor="tests")
    events = list(OutboxEvent.objects.filter(event_type=DECISION_CREATED).order_by("id"))
    assert [e.payload["external_id"] for e in events] == ["tx-1", "tx-2"]
    first = Decision.objects.select_related("transaction", "model_version").get(transaction__external_id="tx-1")
    payload = events[0].payload
    assert payload == {
        "transaction_id": first.transaction_id,
        "external_id": "tx-1",
        "source": "acme",
        "account_id": record["account_id"],
        "amount": "42.5000",
        "currency": "EUR",
        "occurred_at": payload["occurred_at"],
        "score": pytest.approx(round(first.score, 6), abs=1e-9),
        "risk_level": first.risk_level,
        "flagged": first.flagged,
        "model_version": first.model_version.version,
        "case_reference": None,
        "created_at": payload["created_at"],
    }
    # ISO 8601 in UTC (fractions of a second may be written with fewer digits by PostgreSQL).
    assert payload["occurred_at"].startswith("2026-11-20T12:03:00.25") and payload["occurred_at"].endswith("+00:00")
    assert payload["created_at"].endswith("+00:00")
    flagged = events[1].payload
    assert flagged["flagged"] is True and flagged["case_reference"] == result.decisions[1]["case_reference"]
    assert flagged["case_reference"].startswith("CASE-")
    case_events = OutboxEvent.objects.filter(event_type="case.opened")
    assert case_events.count() == 1 and case_events.get().id > events[1].id
