"""GCRA rate limits (kernel.cache.rate_limit_hit): the same answers in the embedded cache and on Redis."""

import uuid

import pytest
from django.core.cache import caches

from kernel.cache import SharedRedisCache, rate_limit_hit


def hits(key: str, n: int, *, limit: int, period_s: int) -> list[float]:
    return [rate_limit_hit(key, limit=limit, period_s=period_s) for _ in range(n)]


def test_a_burst_of_the_whole_rate_then_one_per_interval():
    key = f"t-{uuid.uuid4().hex}"
    waits = hits(key, 4, limit=3, period_s=60)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 19 < waits[3] <= 20  # 60 s / 3: the next request is allowed 20 s after the burst


def test_limits_are_per_key():
    a, b = f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"
    assert hits(a, 2, limit=1, period_s=60)[1] > 0
    assert hits(b, 1, limit=1, period_s=60) == [0.0]


@pytest.mark.redis
def test_on_redis_one_atomic_script_keeps_the_state():
    backend = caches["default"]
    assert isinstance(backend, SharedRedisCache)
    key = f"r-{uuid.uuid4().hex}"
    assert hits(key, 2, limit=2, period_s=10) == [0.0, 0.0]
    name = backend.make_and_validate_key(f"gcra:{key}")
    client = backend._cache.get_client(name)
    # The script's own state: a plain number with an expiry (the Python fallback would have pickled it).
    assert float(client.get(name)) > 0
    assert 0 < client.pttl(name) <= 10_001
    assert 4 < hits(key, 1, limit=2, period_s=10)[0] <= 5


@pytest.mark.redis
def test_on_redis_each_pool_keeps_one_client():
    backend = caches["default"]
    client = backend._cache.get_client("k", write=True)
    assert backend._cache.get_client("other") is client  # one server: reads and writes share its pool
    key = f"c-{uuid.uuid4().hex}"
    backend.set(key, {"n": 1}, timeout=10)
    assert backend.get(key) == {"n": 1}
    assert backend._cache.get_client(key) is client
