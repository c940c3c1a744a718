"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps its cache objects per context, and its ASGI handler runs every request in a context of
its own: each request built a new RedisCacheClient and opened a new TCP connection to Redis (the
per-key rate limit reads the cache on every API request; py-spy showed a third of a single-item
request's time in redis-py's connect). redis-py's pool is thread-safe and resets itself after a fork.

Django's client also builds a new `redis.Redis` for every operation; redis-py 8 fills a table of ~170
response callbacks in each one (0.17 ms, more than a GET's round trip here): ~10% of the web process'
CPU under single-item ingest, with two cache operations a request. One `redis.Redis` per pool serves.
"""

import math
import threading
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


class _ClientPerPool(RedisCacheClient):
    """RedisCacheClient that keeps the `redis.Redis` of each connection pool (redis-py's clients are thread-safe)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)  # random among replicas for reads, as in Django
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            # Two threads may both build one; either serves, and the pool under them is the same.
            client = self._clients.setdefault(index, self._client(connection_pool=self._pools[index]))
        return client


class SharedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ClientPerPool

    @cached_property
    def _cache(self):
        key = (tuple(self._servers), tuple(sorted((name, repr(value)) for name, value in self._options.items())))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
            return client


# --- Rate limits ---------------------------------------------------------------------------------
# GCRA (the generic cell rate algorithm): one stored time per key, the "theoretical arrival time" of
# the next request. `limit` requests per `period_s` are spread evenly, with a burst of up to `limit`.
# Exact and smooth (no window edges letting 2x through), and on Redis one atomic round trip on the
# server's clock, where DRF's sliding log read and rewrote a list of every timestamp of the period
# (thousands for a busy key) in two round trips that concurrent requests could interleave.
_GCRA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local next_tat = tat + interval
local allowed_at = next_tat - period
if now < allowed_at then
  return tostring(allowed_at - now)
end
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil((next_tat - now) * 1000) + 1)
return '0'
"""
_local_gcra_lock = threading.Lock()
RATE_PERIODS_S = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate_limit(rate: str) -> tuple[int, int]:
    """'600/min' -> (600 requests, 60 seconds); raises ValueError for anything else."""
    count, _, period = rate.strip().partition("/")
    if not count.isdigit() or int(count) < 1 or period not in RATE_PERIODS_S:
        raise ValueError(f"A rate limit is <requests>/<s|min|hour|day>, e.g. 600/min; got {rate!r}.")
    return int(count), RATE_PERIODS_S[period]


def rate_limit_hit(key: str, *, limit: int, period_s: int) -> float:
    """Count a request against `limit` per `period_s` for `key`: 0.0 if allowed, else seconds to wait.

    Raises whatever the cache raises when it is unreachable (callers decide whether to allow then).
    """
    interval = period_s / limit
    backend = caches["default"]
    if isinstance(backend, RedisCache):  # SharedRedisCache, or Django's own (FINOBS_NO_SHARED_REDIS_CACHE=1)
        name = backend.make_and_validate_key(f"gcra:{key}")
        client = backend._cache.get_client(name, write=True)
        return float(client.eval(_GCRA_LUA, 1, name, repr(interval), repr(period_s)))
    # The embedded mode's per-process cache: the same algorithm under a process lock.
    name = f"gcra:{key}"
    with _local_gcra_lock:
        now = time.time()
        next_tat = max(backend.get(name) or 0.0, now) + interval
        allowed_at = next_tat - period_s
        if now < allowed_at:
            return allowed_at - now
        backend.set(name, next_tat, timeout=math.ceil(next_tat - now) + 1)
        return 0.0
