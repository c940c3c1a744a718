"""API keys' business operations: create (the secret shown once), update, revoke; each audited."""

from apikeys.services.keys import api_key_create, api_key_revoke, api_key_update

__all__ = ["api_key_create", "api_key_revoke", "api_key_update"]
