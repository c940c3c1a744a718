"""API keys."""

from apikeys.models.keys import KEY_PREFIX_LENGTH, ApiKey, parse_rate_limit

__all__ = ["KEY_PREFIX_LENGTH", "ApiKey", "parse_rate_limit"]
