"""DRF authentication by API key (`X-Webhook-Key: <key>` or `Authorization: Bearer <key>`, a key being `fo_…`)."""

import threading
import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from apikeys.models import KEY_PREFIX_LENGTH, ApiKey
from apikeys.services.keys import api_key_mark_used
from kernel.logs import bind
from organisations.context import activate, system_context

# Every key begins so; a bearer credential that does not is a person's access token (accounts.authentication).
KEY_BEGINNING = "fo_"


def key_from_request(request) -> str | None:
    header = request.META.get("HTTP_X_WEBHOOK_KEY")
    if header:
        return header.strip()
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = auth.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip().startswith(KEY_BEGINNING):
        return credentials.strip()
    return None


class InvalidApiKey(Exception):
    """A presented key that is malformed, unknown, revoked, expired or of an inactive organisation."""


def api_key_check(raw: str) -> ApiKey:
    """The active key `raw` is (`fo_<prefix>_<secret>`), with its organisation; raises InvalidApiKey."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "fo" or len(parts[1]) != KEY_PREFIX_LENGTH:
        raise InvalidApiKey("Invalid API key.")
    key = _key_by_prefix(parts[1])
    # Compare even when no row matched, so timing does not reveal which prefixes exist.
    candidate = key or ApiKey(key_hash="0" * 64)
    if not candidate.matches(raw) or key is None:
        raise InvalidApiKey("Invalid API key.")
    if not key.is_active:
        raise InvalidApiKey("This API key is revoked or expired.")
    if not key.organisation.is_active:
        raise InvalidApiKey("This API key's organisation is inactive.")
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates an integrator; `request.auth` is the ApiKey, `request.user` its owner (or anonymous).

    The request then runs in the key's organisation (until the organisation middleware restores what was
    there before the request)."""

    def authenticate(self, request):
        raw = key_from_request(request)
        if raw is None:
            return None
        try:
            key = api_key_check(raw)
        except InvalidApiKey as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        activate(key.organisation)
        getattr(request, "_request", request).organisation = key.organisation
        api_key_mark_used(key=key, now=timezone.now())
        bind(api_key=key.prefix)
        return (key.owner or AnonymousUser(), key)

    def authenticate_header(self, request):
        return 'Bearer realm="finobs"'


# Keys read in the last API_KEY_CACHE_S seconds, by prefix: the lookup was ~0.8 ms of the web process'
# CPU per API request under load (a fifth of a single-item ingest's own work). The hash, revocation and
# expiry are still checked on every request, against the cached row; a key saved in this process (a
# revocation, an edit) is dropped at once (forget_cached_key, on post_save), and other processes see
# the change within API_KEY_CACHE_S. Unknown prefixes are not cached (random ones would fill it).
_cached: dict[str, tuple[float, ApiKey]] = {}
_cached_lock = threading.Lock()
CACHED_KEYS_MAX = 10_000


def _key_by_prefix(prefix: str) -> ApiKey | None:
    ttl_s = settings.API_KEY_CACHE_S
    if ttl_s <= 0:
        return _read_key(prefix)
    now = time.monotonic()
    hit = _cached.get(prefix)
    if hit is not None and now - hit[0] < ttl_s:
        return hit[1]
    key = _read_key(prefix)
    with _cached_lock:
        if key is None:
            _cached.pop(prefix, None)
        else:
            if len(_cached) >= CACHED_KEYS_MAX:
                _cached.clear()
            _cached[prefix] = (now, key)
    return key


def _read_key(prefix: str) -> ApiKey | None:
    # The prefix is unique across organisations: the key names its organisation. Read as platform work, so
    # the database's row-level security lets a request signed in to one organisation present another's key.
    with system_context():
        return ApiKey.objects.for_all_organisations().select_related("organisation").filter(prefix=prefix).first()


def forget_cached_key(sender=None, *, instance: ApiKey, **kwargs) -> None:
    """Drop `instance` from this process' key cache (connected to ApiKey's post_save and post_delete)."""
    with _cached_lock:
        _cached.pop(instance.prefix, None)


class HasApiKeyScope(permissions.BasePermission):
    """Allows a request authenticated by an API key that carries `required_scope` (set on the view)."""

    message = "This API key does not have the scope this endpoint needs."

    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        return view.required_scope in key.scopes
