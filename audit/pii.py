"""Personal data in audit payloads is replaced by a salted, keyed hash before it is stored."""

import hashlib
import hmac
import re
from typing import Any

from django.conf import settings

PII_KEYS = frozenset(
    {
        "account_id",
        "account",
        "name",
        "full_name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "iban",
        "card_number",
        "pan",
        "address",
        "ip_address",
        "date_of_birth",
        "customer_id",
    }
)

_HASHED = re.compile(r"pii:[0-9a-f]{32}")


def pii_hash(value: object) -> str:
    """A stable pseudonym for `value`: equal inputs give equal outputs, so events stay joinable."""
    digest = hmac.new(settings.PII_HASH_SALT.encode(), str(value).encode(), hashlib.sha256).hexdigest()
    return f"pii:{digest[:32]}"


def redact_pii(payload: Any) -> Any:
    """A deep copy of `payload` with every value under a personal-data key hashed."""
    if not settings.PII_HASH_ENABLED:
        return payload
    return _redact(payload, under_pii_key=False)


def _redact(value: Any, *, under_pii_key: bool) -> Any:
    if isinstance(value, dict):
        return {key: _redact(item, under_pii_key=under_pii_key or _is_pii_key(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, under_pii_key=under_pii_key) for item in value]
    if not under_pii_key or value is None:
        return value
    # Already-hashed values are kept, so redacting twice gives the same payload.
    if isinstance(value, str) and _HASHED.fullmatch(value):
        return value
    return pii_hash(value)


def _is_pii_key(key: object) -> bool:
    return isinstance(key, str) and key.lower() in PII_KEYS
