"""People's rate limits on the API (DRF throttling): USER_API_RATE per person over every endpoint, and a
view's own budget for work that costs far more than a read (its `throttle_scope`, a key of
USER_EXPENSIVE_RATES, shared with a page doing the same work).

Requests by API key are limited by their key instead (apikeys.throttling), and anonymous ones are refused
before throttles run. Over a limit DRF raises Throttled: 429 with Retry-After and the error shape
{"code": "rate_limited", ...} (kernel.api.errors).
"""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from kernel.api.permissions import api_key_of
from kernel.ratelimits import person_rate_limit_wait


class PersonRateThrottle(BaseThrottle):
    """Every API request of a signed-in person counts against their USER_API_RATE."""

    def __init__(self):
        self._wait_s = None

    def budget(self, view) -> tuple[str, str] | None:
        """(budget name, rate) this view's requests count against, or None for no limit here."""
        return "api", settings.USER_API_RATE

    def allow_request(self, request, view):
        budget = self.budget(view)
        if budget is None or api_key_of(request) is not None or not request.user.is_authenticated:
            return True
        name, rate = budget
        self._wait_s = person_rate_limit_wait(request.user, budget=name, rate=rate)
        return self._wait_s == 0

    def wait(self):
        return self._wait_s


class PersonScopedRateThrottle(PersonRateThrottle):
    """A view with a `throttle_scope` also counts a person's requests against that budget of USER_EXPENSIVE_RATES."""

    def budget(self, view) -> tuple[str, str] | None:
        scope = getattr(view, "throttle_scope", None)
        return (scope, settings.USER_EXPENSIVE_RATES[scope]) if scope else None
