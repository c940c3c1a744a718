"""Test-session wiring: service markers, and persona/user builders shared by every app's tests."""

import os

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() == "true"


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_collection_modifyitems(config, items):
    """The SQLite run deselects what needs PostgreSQL/Redis; the service run must run all of it."""
    need_pg = [i for i in items if i.get_closest_marker("postgres")]
    need_redis = [i for i in items if i.get_closest_marker("redis")]
    deselected = []
    if not _on_postgres():
        deselected += need_pg
    if not settings.REDIS_URL:
        deselected += need_redis
    if deselected:
        ids = {id(i) for i in deselected}
        config.hook.pytest_deselected(items=deselected)
        items[:] = [i for i in items if id(i) not in ids]
    if settings.REDIS_URL and need_redis and not _redis_reachable():
        raise pytest.UsageError(f"REDIS_URL={settings.REDIS_URL} is set but Redis does not answer.")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped PostgreSQL/Redis/browser test is a failure, not a silent pass."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and any(item.get_closest_marker(m) for m in ("postgres", "redis", "browser")):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a service test was skipped in CI ({report.longrepr})"
