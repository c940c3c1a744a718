"""Liveness and readiness probes (JSON, no authentication, no secrets in the output)."""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from finobs.celery import WORKER_HEARTBEAT_KEY

# Checks reported without deciding readiness (see `ready`).
INFORMATIVE_CHECKS = {"redis", "worker"}


@require_GET
@never_cache
def live(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def _check_redis() -> dict:
    _redis().ping()
    return {}


def _check_worker() -> dict:
    """Whether a Celery worker sent a heartbeat in the last WORKER_HEARTBEAT_STALE_S (finobs.celery records
    them in Redis): one read, never a broadcast to the workers that would hold the probe for its timeout."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"mode": "in-process"}  # tasks run in the process that queues them
    seen_at = _redis().get(WORKER_HEARTBEAT_KEY)
    if seen_at is None:
        return {"ok": False, "last_seen_s": None}
    last_seen_s = round(max(time.time() - float(seen_at), 0.0), 1)
    return {"ok": last_seen_s <= settings.WORKER_HEARTBEAT_STALE_S, "last_seen_s": last_seen_s}


def _check_model() -> dict:
    from scoring.inference import champion_scorer

    scorer = champion_scorer()
    return {"champion_version": scorer.model_version.version}


@require_GET
@never_cache
def ready(request):
    """Ready to take traffic: the database answers and a champion model is loaded.

    It also reports whether Redis answers (when configured) and a Celery worker was seen recently, without
    making either a condition: this process takes ingests without them (the outbox keeps what is to be
    published, the streams poll it, and the relay catches up when they are back), and a load balancer
    that took every web process out when Redis or the workers stop would turn a delay into an outage.
    Either missing makes the status "degraded", still 200, for monitoring to alert on.
    """
    checks = {"database": _check_database, "model": _check_model}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    checks["worker"] = _check_worker
    results = {}
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            results[name] = {"ok": True, **check()}
        except Exception as exc:
            results[name] = {"ok": False, "error": type(exc).__name__}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    failed = {name for name, result in results.items() if not result["ok"]}
    if failed - INFORMATIVE_CHECKS:
        return JsonResponse({"status": "unavailable", "checks": results}, status=503)
    return JsonResponse({"status": "degraded" if failed else "ok", "checks": results})
