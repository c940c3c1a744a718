"""The outbox admin shows a decision event's stored fields and its data as streams and callbacks send it."""

import pytest

from conftest import default_organisation, transaction_record
from delivery.models import DECISION_CREATED, OutboxEvent
from ingestion.services import ingest

pytestmark = pytest.mark.django_db


def test_a_decision_events_page_shows_its_data_as_sent(champion, admin_client):
    ingest([transaction_record(1, amount="42.5")], organisation=default_organisation(), source="acme", actor="tests")
    event = OutboxEvent.objects.get(event_type=DECISION_CREATED)
    assert "external_id" not in event.payload
    page = admin_client.get(f"/admin/delivery/outboxevent/{event.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Data as sent" in html
    assert "&quot;external_id&quot;: &quot;tx-1&quot;" in html and "&quot;amount&quot;: &quot;42.5000&quot;" in html
