"""API keys: created with the secret shown once (only its hash is stored), changed, revoked, audited."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apikeys.models import ApiKey
from audit.services import audit_log
from kernel.cache import parse_rate_limit
from kernel.mfa import require_second_factor
from organisations.context import organisation_context

# What an admin may change on an existing key (the secret, prefix and source never change).
EDITABLE_FIELDS = ("name", "scopes", "owner", "expires_at", "rate_limit")


def check_api_key_fields(*, scopes: Sequence[str], rate_limit: str = "") -> None:
    """Raise ValueError for unknown scopes or a malformed rate limit."""
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}")
    if not scopes:
        raise ValueError("A key needs at least one scope.")
    if rate_limit:
        parse_rate_limit(rate_limit)


def api_key_create(
    *,
    organisation,
    name: str,
    source: str,
    scopes: Sequence[str],
    owner=None,
    expires_at: datetime | None = None,
    rate_limit: str = "",
    actor=None,
) -> tuple[ApiKey, str]:
    """Create a key of `organisation`; returns it with the raw secret, which is shown once and never stored."""
    require_second_factor(actor, action="Managing API keys")
    check_api_key_fields(scopes=scopes, rate_limit=rate_limit)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry must be in the future.")
    raw, prefix = ApiKey.generate()
    with transaction.atomic(), organisation_context(organisation):
        key = ApiKey.objects.create(
            organisation=organisation,
            name=name,
            source=source,
            prefix=prefix,
            key_hash=ApiKey.hash_key(raw),
            scopes=list(scopes),
            owner=owner,
            expires_at=expires_at,
            rate_limit=rate_limit,
        )
        audit_log(
            actor=actor,
            action="apikey.created",
            object_type="apikey",
            object_id=key.pk,
            payload={
                "name": name,
                "source": source,
                "prefix": prefix,
                "scopes": list(scopes),
                "expires_at": expires_at.isoformat() if expires_at else None,
                "rate_limit": rate_limit,
            },
        )
    return key, raw


def api_key_update(*, key: ApiKey, actor=None, **changes) -> ApiKey:
    """Change `EDITABLE_FIELDS` of a key; the changed fields are audited."""
    require_second_factor(actor, action="Managing API keys")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"These fields cannot be changed: {', '.join(sorted(unknown))}")
    check_api_key_fields(scopes=changes.get("scopes", key.scopes), rate_limit=changes.get("rate_limit", key.rate_limit))
    with transaction.atomic():
        current = ApiKey.objects.select_for_update().get(pk=key.pk)
        changed = {name: value for name, value in changes.items() if getattr(current, name) != value}
        if not changed:
            return current
        for name, value in changed.items():
            setattr(current, name, value)
        current.save(update_fields=list(changed))
        audit_log(
            actor=actor,
            action="apikey.changed",
            object_type="apikey",
            object_id=current.pk,
            payload={name: _audit_value(value) for name, value in changed.items()},
        )
    return current


# last_used_at is written at most this often per key, so hot keys do not cost a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_mark_used(*, key: ApiKey, now: datetime) -> None:
    """Note that `key` authenticated a request (operational, not audited); at most once per LAST_USED_RESOLUTION."""
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now  # a cached key too: one write per key and resolution


def api_key_revoke(*, key: ApiKey, actor=None) -> ApiKey:
    require_second_factor(actor, action="Managing API keys")
    with transaction.atomic():
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_log(actor=actor, action="apikey.revoked", object_type="apikey", object_id=key.pk, payload={})
    return key


def _audit_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value
