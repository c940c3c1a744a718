"""Idempotency keys: a request sent again with the same `Idempotency-Key` gets the stored response."""

from django.db import models

from apikeys.models import ApiKey
from organisations.models import OrganisationOwned

IDEMPOTENCY_KEY_MAX_LENGTH = 255


class IdempotencyKey(OrganisationOwned):
    """One claimed key per API key. While `response_status` is null the first request is still in flight."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    request_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the raw request body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(default=b"", blank=True, help_text="The JSON response as sent.")
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique_per_api_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        state = self.response_status or "in flight"
        return f"{self.key} ({state})"

    @property
    def is_in_flight(self) -> bool:
        return self.response_status is None
