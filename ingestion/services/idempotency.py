"""Idempotency-Key for the ingest API: claim a key before the work, store the response after it.

The claim is its own committed transaction, so a second request with the same key sees it at once
(409 while the first is in flight) instead of waiting on the first request's ingest transaction.
State lives in the database, not in Redis (PITFALLS: Redis can lose acknowledged writes).
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apikeys.models import ApiKey
from ingestion.models import IDEMPOTENCY_KEY_MAX_LENGTH, IdempotencyKey

# A claim whose request never finished (its process died) is taken over after this long.
IN_FLIGHT_TIMEOUT = timedelta(minutes=10)


class IdempotencyError(Exception):
    """Base of the refusals below; `code` is the API error code."""

    code = "idempotency_error"


class IdempotencyKeyInvalid(IdempotencyError):
    code = "invalid_idempotency_key"


class IdempotencyKeyReused(IdempotencyError):
    code = "idempotency_key_reused"


class IdempotencyKeyInProgress(IdempotencyError):
    code = "idempotency_key_in_progress"


@dataclass(frozen=True)
class Claim:
    """Either a fresh claim (`record`, do the work) or a stored response to replay."""

    record: IdempotencyKey
    is_replay: bool

    @property
    def status(self) -> int:
        return self.record.response_status

    @property
    def body(self) -> bytes:
        return bytes(self.record.response_body)


def check_idempotency_key(key: str) -> str:
    """1 to 255 visible ASCII characters (RFC 9110 token-ish; spaces inside are allowed)."""
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise IdempotencyKeyInvalid(f"The Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.")
    if not all(" " <= ch <= "~" for ch in key):
        raise IdempotencyKeyInvalid("The Idempotency-Key must be printable ASCII.")
    return key


def idempotency_claim(*, api_key: ApiKey, key: str, body: bytes) -> Claim:
    """Claim `key` for this request (committed at once), or return the stored response for a repeat.

    Raises IdempotencyKeyInvalid, IdempotencyKeyReused (same key, another body) or
    IdempotencyKeyInProgress (the first request with this key has not finished).
    """
    key = check_idempotency_key(key)
    digest = hashlib.sha256(body).hexdigest()
    now = timezone.now()
    expired_before = now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(api_key=api_key, key=key, request_sha256=digest, created_at=now)
            return Claim(record=record, is_replay=False)
        except IntegrityError:
            pass  # the key is claimed already: read that claim below
        record = IdempotencyKey.objects.filter(api_key=api_key, key=key).first()
        if record is None:  # released or pruned between our insert and our read: try again
            continue
        is_abandoned = record.is_in_flight and record.created_at < now - IN_FLIGHT_TIMEOUT
        if record.created_at < expired_before or is_abandoned:
            # An expired (not yet pruned) or abandoned claim: remove exactly that row, then claim anew.
            IdempotencyKey.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.request_sha256 != digest:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request body; use a new key for a new request."
            )
        if record.is_in_flight:
            raise IdempotencyKeyInProgress("A request with this Idempotency-Key is still being processed; retry later.")
        return Claim(record=record, is_replay=True)
    raise IdempotencyKeyInProgress("A request with this Idempotency-Key is still being processed; retry later.")


def idempotency_complete(*, claim: Claim, status: int, body: bytes) -> None:
    """Store the response of the claimed request, so repeats replay it."""
    IdempotencyKey.objects.filter(pk=claim.record.pk).update(
        response_status=status, response_body=body, completed_at=timezone.now()
    )


def idempotency_release(*, claim: Claim) -> None:
    """Give the key back after the request failed, so the client may retry with it."""
    IdempotencyKey.objects.filter(pk=claim.record.pk, response_status__isnull=True).delete()


def idempotency_prune(*, now=None) -> int:
    """Delete keys older than IDEMPOTENCY_TTL_HOURS; returns how many."""
    now = now or timezone.now()
    expired_before = now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=expired_before).delete()
    return deleted
