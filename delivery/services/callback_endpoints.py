"""Callback endpoints: registered with a URL the SSRF guard accepts, changed, deleted, secrets rotated; audited."""

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import audit_log
from delivery.models import CallbackEndpoint, OutboxEvent
from delivery.models.callbacks import EVENT_TYPE_PATTERN, new_webhook_secret
from kernel.outbound import UnsafeUrl, check_outbound_url

EDITABLE_FIELDS = ("name", "url", "event_types", "flagged_only", "is_active")
# Who the endpoint belongs to: admins change these (Django admin), integrators never (the API).
OWNERSHIP_FIELDS = ("owner", "api_key")


# An integrator's endpoint (registered with an API key) hears its own source's decisions only.
KEY_EVENT_TYPES = ("decision.created", "decision.*", "*")


def check_endpoint(*, url: str, event_types: Sequence[str], for_key: bool = False) -> None:
    """Raise ValidationError (by field) if the URL is refused by the SSRF guard or an event type is malformed
    (or, `for_key`, is one an integrator's endpoint never receives)."""
    errors: dict[str, list[str]] = {}
    try:
        check_outbound_url(url, allow_private=settings.CALLBACK_ALLOW_PRIVATE)
    except UnsafeUrl as exc:
        errors["url"] = [str(exc)]
    if not isinstance(event_types, list | tuple) or not event_types:
        errors["event_types"] = ['Name at least one event type, or "*" for all.']
    else:
        bad = [t for t in event_types if not isinstance(t, str) or not EVENT_TYPE_PATTERN.match(t)]
        if bad:
            errors["event_types"] = [f"Not an event type: {', '.join(map(str, bad))} (e.g. case.closed, case.*, *)."]
        elif for_key and (others := [t for t in event_types if t not in KEY_EVENT_TYPES]):
            errors["event_types"] = [
                f"An API key's endpoint receives its own source's decisions only ({', '.join(KEY_EVENT_TYPES)}); "
                f"not {', '.join(others)}. Case and model events go to endpoints an admin configures."
            ]
    if errors:
        raise ValidationError(errors)


def callback_endpoint_create(
    *,
    name: str,
    url: str,
    event_types: Sequence[str],
    flagged_only: bool = False,
    is_active: bool = True,
    owner=None,
    api_key=None,
    actor,
) -> tuple[CallbackEndpoint, str]:
    """Register an endpoint; returns it with its signing secret, which is shown to the caller once."""
    check_endpoint(url=url, event_types=event_types, for_key=api_key is not None)
    secret = new_webhook_secret()
    with transaction.atomic():
        endpoint = CallbackEndpoint.objects.create(
            name=name,
            url=url,
            secret=secret,
            event_types=list(event_types),
            flagged_only=flagged_only,
            is_active=is_active,
            owner=owner,
            api_key=api_key,
            last_event_id=_newest_event_id(),
        )
        audit_log(
            actor=actor,
            action="callback.endpoint_created",
            object_type="callbackendpoint",
            object_id=endpoint.pk,
            payload={"name": name, "url": url, "event_types": list(event_types), "flagged_only": flagged_only},
        )
    return endpoint, secret


def callback_endpoint_update(*, endpoint: CallbackEndpoint, actor, **changes) -> CallbackEndpoint:
    """Change EDITABLE_FIELDS or OWNERSHIP_FIELDS; audited. A reactivated endpoint starts at the newest event."""
    unknown = set(changes) - set(EDITABLE_FIELDS) - set(OWNERSHIP_FIELDS)
    if unknown:
        raise ValueError(f"Cannot change: {', '.join(sorted(unknown))}")
    check_endpoint(
        url=changes.get("url", endpoint.url),
        event_types=changes.get("event_types", endpoint.event_types),
        for_key=endpoint.api_key_id is not None,
    )
    with transaction.atomic():
        locked = CallbackEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        diff = {
            f: [_audit_value(getattr(locked, f)), _audit_value(v)]
            for f, v in changes.items()
            if getattr(locked, f) != v
        }
        if not diff:
            return locked
        for field, value in changes.items():
            setattr(locked, field, value)
        if "is_active" in diff and locked.is_active:
            locked.last_event_id = _newest_event_id()
        if "url" in diff:  # a new receiver: the old one's failures say nothing about it
            locked.consecutive_failures, locked.breaker_open_until = 0, None
        locked.save()
        audit_log(
            actor=actor,
            action="callback.endpoint_updated",
            object_type="callbackendpoint",
            object_id=locked.pk,
            payload={"changes": diff},
        )
    return locked


def callback_endpoint_delete(*, endpoint: CallbackEndpoint, actor) -> None:
    """Delete an endpoint with its deliveries (the audit trail keeps the record)."""
    with transaction.atomic():
        audit_log(
            actor=actor,
            action="callback.endpoint_deleted",
            object_type="callbackendpoint",
            object_id=endpoint.pk,
            payload={"name": endpoint.name, "url": endpoint.url, "deliveries": endpoint.deliveries.count()},
        )
        endpoint.delete()


def callback_endpoint_rotate_secret(*, endpoint: CallbackEndpoint, actor) -> tuple[CallbackEndpoint, str]:
    """A new secret, shown once; the old one keeps signing (second signature) for CALLBACK_SECRET_GRACE_S."""
    secret = new_webhook_secret()
    now = timezone.now()
    with transaction.atomic():
        locked = CallbackEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + timedelta(seconds=settings.CALLBACK_SECRET_GRACE_S)
        locked.secret = secret
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
        audit_log(
            actor=actor,
            action="callback.secret_rotated",
            object_type="callbackendpoint",
            object_id=locked.pk,
            payload={"previous_valid_until": locked.previous_secret_expires_at.isoformat()},
        )
    return locked, secret


def _newest_event_id() -> int:
    return OutboxEvent.objects.aggregate(newest=Max("id"))["newest"] or 0


def _audit_value(value):
    """A field's value as the audit payload holds it: a related object by its primary key."""
    return value.pk if hasattr(value, "pk") else value
