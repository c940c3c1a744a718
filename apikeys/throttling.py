"""Per-API-key rate limits (DRF throttling): a courtesy limit with 429 and Retry-After, not a security control.

The rate is the key's own `rate_limit` ("600/min"), else API_KEY_RATE_BY_SCOPE for the endpoint's
scope, else API_KEY_RATE. Requests are spread by GCRA (kernel.cache.rate_limit_hit): up to the
whole rate at once, then one request per period/limit; the refused get the seconds until the next
one is allowed. Requests by signed-in people are not limited here. The state lives in the cache
(Redis in production); if it is unreachable the request is allowed, so a Redis outage never turns
into refused ingests.
"""

import logging

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from kernel.api.permissions import api_key_of
from kernel.cache import parse_rate_limit, rate_limit_hit

logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(BaseThrottle):
    def __init__(self):
        self._wait_s = None

    def allow_request(self, request, view):
        key = api_key_of(request)
        if key is None:
            return True
        rate = key.rate_limit or settings.API_KEY_RATE_BY_SCOPE.get(
            getattr(view, "required_scope", None), settings.API_KEY_RATE
        )
        limit, period_s = parse_rate_limit(rate)
        try:
            # The prefix, not the pk: unique per key and never reused, even after a database is rebuilt.
            wait_s = rate_limit_hit(f"api_key:{key.prefix}:{limit}/{period_s}", limit=limit, period_s=period_s)
        except Exception:  # the cache (Redis) is down: a courtesy limit must not refuse requests
            logger.warning("API key throttle: cache unavailable, allowing the request", exc_info=True)
            return True
        if wait_s > 0:
            self._wait_s = wait_s
            return False
        return True

    def wait(self):
        return self._wait_s
