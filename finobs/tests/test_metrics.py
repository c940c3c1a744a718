"""GET /metrics: the platform's state, scoring and outbox timings; who may scrape."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from cases.models import Case
from conftest import default_organisation, suspicious_record, transaction_record
from delivery.services import outbox_append
from delivery.services.relay import outbox_relay
from finobs.tests.scraping import scrape, value
from ingestion.services import ingest

pytestmark = pytest.mark.django_db


def _samples(response) -> dict:
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def test_a_metrics_key_scrapes_backlog_cases_and_model_state(champion, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # no relay runs: the outbox keeps what ingest wrote
    ingest(
        [suspicious_record(1), suspicious_record(2), transaction_record(3)],
        organisation=default_organisation(),
        source="acme",
        actor="tests",
    )
    open_cases = Case.objects.exclude(status=Case.Status.CLOSED)
    _key, raw = api_key_create(organisation=default_organisation(), name="prometheus", source="ops", scopes=["metrics"])
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    samples = _samples(response)
    assert samples[("finobs_outbox_unpublished_events", ())] >= 3
    opened = sum(v for (name, _labels), v in samples.items() if name == "finobs_cases_open")
    assert opened == open_cases.count() >= 1
    case = open_cases.first()
    assert samples[("finobs_cases_open", (("severity", case.severity), ("status", case.status)))] >= 1
    assert samples[("finobs_cases_open", (("severity", "low"), ("status", "escalated")))] == 0
    assert samples[("finobs_decisions_last_hour", (("flagged", "true"),))] == 2
    assert samples[("finobs_decisions_last_hour", (("flagged", "false"),))] == 1
    assert samples[("finobs_model_champion_version", ())] == champion.version
    assert samples[("finobs_drift_detected", ())] == 0
    assert ("process_cpu_seconds_total", ()) in samples


@pytest.mark.parametrize(
    ("role", "status"), [("compliance", 200), ("org_admin", 200), ("analyst", 403), ("viewer", 403)]
)
def test_people_need_to_see_every_case(make_user, role, status):
    client = APIClient()
    client.force_authenticate(make_user(role))
    assert client.get("/metrics").status_code == status


def test_keys_without_the_metrics_scope_and_anonymous_callers_are_refused():
    _key, raw = api_key_create(
        organisation=default_organisation(), name="ingest only", source="acme", scopes=["ingest", "read"]
    )
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert APIClient().get("/metrics").status_code in (401, 403)


def test_scoring_is_timed_per_batch_by_its_size(champion):
    before = scrape()
    ingest(
        [transaction_record(n) for n in range(1, 4)], organisation=default_organisation(), source="acme", actor="tests"
    )
    ingest([transaction_record(10)], organisation=default_organisation(), source="acme", actor="tests")
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("finobs_scoring_batch_duration_seconds_count", size="2-100") == 1
    assert delta("finobs_scoring_batch_duration_seconds_count", size="1") == 1
    assert delta("finobs_scoring_batch_duration_seconds_bucket", size="1", le="+Inf") == 1
    assert delta("finobs_scoring_batch_duration_seconds_sum", size="2-100") > 0
    assert delta("finobs_scoring_transactions_total") == 4


def test_the_relay_observes_how_long_each_event_waited():
    waited = timedelta(minutes=2)
    outbox_append(events=[("case.opened", {"n": n}) for n in range(3)], created_at=timezone.now() - waited)
    before = scrape()
    assert outbox_relay() == 3
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("finobs_outbox_publish_lag_seconds_count") == 3
    assert delta("finobs_outbox_publish_lag_seconds_bucket", le="60.0") == 0  # each waited two minutes
    assert delta("finobs_outbox_publish_lag_seconds_bucket", le="300.0") == 3
    assert delta("finobs_outbox_publish_lag_seconds_sum") >= 3 * waited.total_seconds()
