"""Health probes."""

import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.test import Client

from conftest import wait_until
from finobs.celery import WORKER_HEARTBEAT_KEY, app

pytestmark = pytest.mark.django_db


def test_live():
    response = Client().get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_with_a_champion(champion, settings):
    response = Client().get("/health/ready")
    assert response.status_code == 200
    body = response.json()
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
def test_an_unreachable_redis_degrades_readiness_without_taking_the_process_out(champion, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/health/ready")
    assert response.status_code == 200  # ingest goes on without Redis: the outbox keeps what waits
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"]["ok"] is False


def test_tasks_run_in_process_need_no_worker(champion, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = Client().get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["worker"]["mode"] == "in-process"


def worker_check() -> tuple[int, str, dict]:
    response = Client().get("/health/ready")
    body = response.json()
    return response.status_code, body["status"], body["checks"]["worker"]


@pytest.mark.redis
def test_no_worker_seen_recently_degrades_readiness_without_failing_it(champion, settings):
    """Web processes keep taking ingests without workers: the outbox waits for them."""
    heartbeats = redis.Redis.from_url(settings.REDIS_URL)
    heartbeats.delete(WORKER_HEARTBEAT_KEY)
    status_code, status, worker = worker_check()
    assert (status_code, status) == (200, "degraded")
    assert worker["ok"] is False and worker["last_seen_s"] is None

    heartbeats.set(WORKER_HEARTBEAT_KEY, time.time() - 2 * settings.WORKER_HEARTBEAT_STALE_S)
    status_code, status, worker = worker_check()
    assert (status_code, status) == (200, "degraded")
    assert worker["ok"] is False and worker["last_seen_s"] >= 2 * settings.WORKER_HEARTBEAT_STALE_S


@pytest.mark.redis
def test_a_running_worker_is_seen_by_its_heartbeats(champion, transactional_db, settings):
    redis.Redis.from_url(settings.REDIS_URL).delete(WORKER_HEARTBEAT_KEY)
    assert worker_check()[2]["ok"] is False
    with start_worker(app, perform_ping_check=False, pool="solo", without_heartbeat=False, shutdown_timeout=10):
        assert wait_until(lambda: worker_check()[2]["ok"])
        status_code, status, worker = worker_check()
    assert (status_code, status) == (200, "ok")
    assert worker["last_seen_s"] <= settings.WORKER_HEARTBEAT_STALE_S
