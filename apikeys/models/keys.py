"""API keys that integrators authenticate with: hashed, prefix shown, scoped, expiring, revocable."""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from kernel.cache import parse_rate_limit
from organisations.models import OrganisationOwned

KEY_PREFIX_LENGTH = 8


def validate_rate_limit(value: str) -> None:
    try:
        parse_rate_limit(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class ApiKey(OrganisationOwned):
    class Scope(models.TextChoices):
        INGEST = "ingest", "Ingest transactions"
        READ = "read", "Read decisions and cases"
        STREAM = "stream", "Follow the live streams"
        METRICS = "metrics", "Scrape /metrics"
        CALLBACKS = "callbacks", "Manage its callback endpoints and deliveries"
        MCP = "mcp", "Connect an AI assistant over MCP (with read, ingest or investigate for its tools)"
        INVESTIGATE = "investigate", "Ask the investigation agent to investigate a case of its source (over MCP)"

    name = models.CharField(max_length=100)
    source = models.SlugField(
        max_length=64,
        help_text="The source this key ingests as; duplicates are detected per source, so a rotated key keeps it.",
    )
    prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, unique=True, help_text="Shown to identify the key.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the whole key; the key itself is never stored.")
    scopes = models.JSONField(default=list)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate_limit],
        help_text="Requests allowed per period for this key, e.g. 600/min or 10000/hour; empty = the default.",
    )

    class Meta:
        verbose_name = "API key"
        permissions = [("manage_keys", "Can create and revoke API keys")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @staticmethod
    def generate() -> tuple[str, str]:
        """A new random key and its prefix: `fo_<prefix>_<secret>`."""
        prefix = secrets.token_hex(KEY_PREFIX_LENGTH // 2)
        return f"fo_{prefix}_{secrets.token_urlsafe(32)}", prefix

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.key_hash, self.hash_key(raw_key))

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def audit_label(self) -> str:
        return f"api:{self.prefix}"
