"""Scraping GET /metrics as Prometheus does, for the metrics tests."""

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from apikeys.services import api_key_create
from conftest import default_organisation

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape() -> Samples:
    """Every sample of one scrape (with a `metrics` key): {(sample name, sorted label pairs): value}."""
    _key, raw = api_key_create(organisation=default_organisation(), name="prometheus", source="ops", scopes=["metrics"])
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value, 0 when the series does not exist (yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def series(samples: Samples, prefix: str) -> set:
    """The series (name and labels) whose name starts with `prefix`."""
    return {key for key in samples if key[0].startswith(prefix)}
