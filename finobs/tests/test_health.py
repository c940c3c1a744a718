"""Health probes."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_live():
    response = Client().get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_with_a_champion(champion, settings):
    body = Client().get("/health/ready").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["model"]["champion_version"] == champion.version
    assert ("redis" in body["checks"]) == bool(settings.REDIS_URL)


def test_not_ready_without_a_model():
    response = Client().get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["model"] == {
        "ok": False,
        "error": "NoChampionModel",
        "latency_ms": body["checks"]["model"]["latency_ms"],
    }


@pytest.mark.redis
def test_not_ready_when_redis_is_unreachable(champion, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
