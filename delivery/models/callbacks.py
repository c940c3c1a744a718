"""Signed callbacks (Standard Webhooks): endpoints integrators register, and each event's delivery to them."""

import base64
import re
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from apikeys.models import ApiKey
from delivery.models.outbox import DECISION_CREATED, OutboxEvent
from kernel.encryption import EncryptedTextField
from organisations.models import OrganisationOwned

SECRET_PREFIX = "whsec_"  # noqa: S105  (the spec's prefix, not a secret)
# An event type ("case.closed"), a family ("case.*"), or "*" for everything.
EVENT_TYPE_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")
# What the platform publishes today; endpoints may name others (new types appear as the product grows).
KNOWN_EVENT_TYPES = (
    DECISION_CREATED,
    "case.opened",
    "case.transactions_added",
    "case.assigned",
    "case.updated",
    "case.escalated",
    "case.sla_warning",
    "case.sla_breached",
    "case.closed",
    "model.promoted",
    "model.rolled_back",
    "model.drift_detected",
    "model.thresholds_recalibrated",
    "model.thresholds_proposed",
)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64 (the spec asks for 24 to 64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_webhook_id() -> str:
    return f"msg_{secrets.token_hex(16)}"


class CallbackEndpoint(OrganisationOwned):
    """A URL that receives signed events; owned by a person or by the API key that registered it."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="Where events are POSTed; http(s) on a public address.")
    # Encrypted at rest (signing needs it back, so it cannot be hashed). Never shown after creation or
    # rotation, never in history.
    secret = EncryptedTextField(editable=False)
    # During a rotation both secrets sign (space-separated signatures), so receivers switch without loss.
    previous_secret = EncryptedTextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    event_types = models.JSONField(
        default=list, help_text='Event types to receive, e.g. ["decision.created", "case.*"]; ["*"] for all.'
    )
    flagged_only = models.BooleanField(default=False, help_text="Of decision.created, send only flagged decisions.")
    is_active = models.BooleanField(default=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    api_key = models.ForeignKey(
        ApiKey,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="callback_endpoints",
        help_text="The integrator key that manages this endpoint through the API.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Circuit breaker: open (no sends) while breaker_open_until is set; a trial send after it closes it.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    breaker_open_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Outbox events up to this id are fanned out; a new endpoint starts at the newest event (no history).
    last_event_id = models.BigIntegerField(default=0, editable=False)

    history = HistoricalRecords(
        excluded_fields=[
            "secret",
            "previous_secret",
            "previous_secret_expires_at",
            "consecutive_failures",
            "breaker_open_until",
            "last_event_id",
        ]
    )

    class Meta:
        verbose_name = "callback endpoint"

    def __str__(self) -> str:
        return self.name

    @property
    def breaker_state(self) -> str:
        if self.breaker_open_until is None:
            return "closed"
        return "open" if self.breaker_open_until > timezone.now() else "half_open"

    def signing_secrets(self, *, now=None) -> list[str]:
        now = now or timezone.now()
        keep_previous = self.previous_secret and (
            self.previous_secret_expires_at is None or self.previous_secret_expires_at > now
        )
        return [self.secret, self.previous_secret] if keep_previous else [self.secret]


class Delivery(OrganisationOwned):
    """One event for one endpoint: sent, retried with backoff, and dead-lettered after the last attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead (gave up)"

    endpoint = models.ForeignKey(CallbackEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # PROTECT: pruning the outbox must not silently empty the dead-letter queue.
    event = models.ForeignKey(OutboxEvent, on_delete=models.PROTECT, related_name="deliveries")
    event_type = models.CharField(max_length=64)
    webhook_id = models.CharField(
        max_length=40, unique=True, help_text="The webhook-id header: the same on every retry (receivers dedup on it)."
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next send is due; while a worker holds the delivery, the end of its lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]
        permissions = [("redeliver_delivery", "Can redeliver a callback delivery")]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.event_type} → {self.endpoint_id} ({self.status})"


class DeliveryAttempt(OrganisationOwned):
    """One POST of a delivery: what the receiver answered, or why it could not be reached."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
