"""Integrators' API keys: hashed, scoped, expiring and revocable; authentication and rate limits by key."""
