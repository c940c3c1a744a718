"""DRF authentication by API key (`X-Webhook-Key: <key>` or `Authorization: Bearer <key>`)."""

from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from finobs.queries import CompiledQuery
from ingestion.models import KEY_PREFIX_LENGTH, ApiKey

# last_used_at is written at most this often per key, so hot keys do not cost a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_from_request(request) -> str | None:
    header = request.META.get("HTTP_X_WEBHOOK_KEY")
    if header:
        return header.strip()
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates an integrator; `request.auth` is the ApiKey, `request.user` its owner (or anonymous)."""

    def authenticate(self, request):
        raw = key_from_request(request)
        if raw is None:
            return None
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != "fo" or len(parts[1]) != KEY_PREFIX_LENGTH:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        key = _KEY_BY_PREFIX.first([parts[1]])  # prefix is unique
        # Compare even when no row matched, so timing does not reveal which prefixes exist.
        candidate = key or ApiKey(key_hash="0" * 64)
        if not candidate.matches(raw) or key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if not key.is_active:
            raise exceptions.AuthenticationFailed("This API key is revoked or expired.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return (key.owner or AnonymousUser(), key)

    def authenticate_header(self, request):
        return 'Bearer realm="finobs"'


# On every API request: compiled once (finobs.queries); the owner is read only if the key has one.
_KEY_BY_PREFIX = CompiledQuery(lambda: ApiKey.objects.filter(prefix=""))


class HasApiKeyScope(permissions.BasePermission):
    """Allows a request authenticated by an API key that carries `required_scope` (set on the view)."""

    message = "This API key does not have the scope this endpoint needs."

    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        return view.required_scope in key.scopes
