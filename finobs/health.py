"""Liveness and readiness probes (JSON, no authentication, no secrets in the output)."""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def live(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _check_redis() -> dict:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return {}


def _check_model() -> dict:
    from scoring.inference import champion_scorer

    scorer = champion_scorer()
    return {"champion_version": scorer.model_version.version}


@require_GET
@never_cache
def ready(request):
    """Ready to take traffic: database answers, Redis answers when configured, a champion model is loaded."""
    checks = {"database": _check_database, "model": _check_model}
    if settings.REDIS_URL:
        checks["redis"] = _check_redis
    results, ready_ = {}, True
    for name, check in checks.items():
        started = time.perf_counter()
        try:
            results[name] = {"ok": True, **check()}
        except Exception as exc:
            ready_ = False
            results[name] = {"ok": False, "error": type(exc).__name__}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return JsonResponse({"status": "ok" if ready_ else "unavailable", "checks": results}, status=200 if ready_ else 503)
