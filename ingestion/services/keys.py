"""API keys: created with the secret shown once (only its hash is stored), revoked, audited."""

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from audit.services import audit_log
from ingestion.models import ApiKey


def api_key_create(
    *, name: str, source: str, scopes: Sequence[str], owner=None, expires_at=None, actor=None
) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is shown once and never stored."""
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}")
    raw, prefix = ApiKey.generate()
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name,
            source=source,
            prefix=prefix,
            key_hash=ApiKey.hash_key(raw),
            scopes=list(scopes),
            owner=owner,
            expires_at=expires_at,
        )
        audit_log(
            actor=actor,
            action="apikey.created",
            object_type="apikey",
            object_id=key.pk,
            payload={"name": name, "source": source, "prefix": prefix, "scopes": list(scopes)},
        )
    return key, raw


def api_key_revoke(*, key: ApiKey, actor=None) -> ApiKey:
    with transaction.atomic():
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_log(actor=actor, action="apikey.revoked", object_type="apikey", object_id=key.pk, payload={})
    return key
