"""People's rate limits: one budget per person and kind of request (the API, each expensive page or action).

A courtesy limit that keeps one person (a script on a session, a stuck browser tab) from taking the
server's time from everyone else; not a security control. The same GCRA as API keys' limits
(kernel.cache.rate_limit_hit), and the same answer when the cache is unreachable: the request is allowed.
"""

import logging
import math

from kernel.cache import parse_rate_limit, rate_limit_hit

logger = logging.getLogger(__name__)


def person_rate_limit_wait(user, *, budget: str, rate: str) -> float:
    """Count a request of `user` (signed in) against `budget` at `rate` ("30/min").

    0.0 if it is allowed, else the seconds until the next one would be.
    """
    limit, period_s = parse_rate_limit(rate)
    # The id alone would pass a budget on to another person when the database is rebuilt and the cache
    # (Redis) is not; with the moment the account was made it never does.
    person = f"{user.pk}.{user.date_joined.timestamp():.6f}"
    try:
        return rate_limit_hit(f"person:{person}:{budget}:{limit}/{period_s}", limit=limit, period_s=period_s)
    except Exception:  # the cache (Redis) is down: a courtesy limit must not lock people out
        logger.warning("%s rate limit: cache unavailable, allowing the request", budget, exc_info=True)
        return 0.0


def retry_after_s(wait_s: float) -> int:
    """The whole seconds a refused request is told to wait (Retry-After): never 0, which would mean now."""
    return max(1, math.ceil(wait_s))
