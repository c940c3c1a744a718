"""API keys."""

from apikeys.models.keys import KEY_PREFIX_LENGTH, ApiKey

__all__ = ["KEY_PREFIX_LENGTH", "ApiKey"]
