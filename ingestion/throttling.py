"""Per-API-key rate limits (DRF throttling): a courtesy limit with 429 and Retry-After, not a security control.

The rate is the key's own `rate_limit` ("600/min"), else API_KEY_RATE_BY_SCOPE for the endpoint's
scope, else API_KEY_RATE. Requests by signed-in people are not limited here. The counters live in
the cache (Redis in production); if it is unreachable the request is allowed, so a Redis outage
never turns into refused ingests.
"""

import logging

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from finobs.api.permissions import api_key_of
from ingestion.models.keys import parse_rate_limit

logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def __init__(self):
        self.rate = None  # chosen per request, from the key

    def allow_request(self, request, view):
        key = api_key_of(request)
        if key is None:
            return True
        self.rate = key.rate_limit or settings.API_KEY_RATE_BY_SCOPE.get(
            getattr(view, "required_scope", None), settings.API_KEY_RATE
        )
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache (Redis) is down: a courtesy limit must not refuse requests
            logger.warning("API key throttle: cache unavailable, allowing the request", exc_info=True)
            return True

    def parse_rate(self, rate):
        return parse_rate_limit(rate)

    def get_cache_key(self, request, view):
        # The prefix, not the pk: unique per key and never reused, even after a database is rebuilt.
        return self.cache_format % {"scope": self.scope, "ident": api_key_of(request).prefix}
