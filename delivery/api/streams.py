"""GET /api/v1/stream/decisions: Server-Sent Events of new decisions, for integrators and people.

An async Django view (DRF views are sync and would hold a worker thread per subscriber), served by
daphne. It authenticates as every API view does (REST_FRAMEWORK's authentication classes): an API key
with the `stream` scope, or a person with scoring.view_live_decisions by their access token or session;
and answers errors in the API's shape. A person's stream ends when their access token expires or they
leave the organisation (the client reconnects with a fresh token and Last-Event-ID).
"""

import time
from dataclasses import dataclass, replace

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings

from apikeys.models import ApiKey
from delivery.feed import FeedFilters, FeedParameterError, FeedReader, parse_last_event_id
from delivery.sse import decision_stream
from kernel.api.errors import error_body
from organisations.selectors import is_active_member

STREAM_SCOPE = "stream"
LIVE_PERMISSION = "scoring.view_live_decisions"


@require_GET
async def decisions_stream_view(request):
    refusal, caller = await _refusal(request)
    if refusal is not None:
        return refusal
    key, person = caller.key, caller.person
    organisation_id = key.organisation_id if key is not None else request.organisation.pk
    try:
        filters = FeedFilters.from_query(request.GET)
        if key is not None:
            filters = replace(filters, organisation_id=organisation_id, source=key.source)
        else:
            filters = replace(filters, organisation_id=organisation_id, viewer=person)
        last_event_id = parse_last_event_id(request.headers.get("Last-Event-ID") or request.GET.get("last_event_id"))
    except FeedParameterError as exc:
        return JsonResponse(error_body("invalid_parameter", exc.message, {exc.field: [exc.message]}), status=400)
    reader = FeedReader(filters=filters)
    await reader.start(last_event_id=last_event_id)
    stream = decision_stream(
        reader=reader,
        heartbeat_s=settings.SSE_HEARTBEAT_S,
        poll_s=settings.STREAM_POLL_S,
        retry_ms=settings.SSE_RETRY_MS,
        still_allowed=_still_allowed(caller, organisation_id),
    )
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response


@dataclass(frozen=True)
class Caller:
    """Who follows the stream: an API key, or a person (by their access token, which expires, or session)."""

    key: ApiKey | None = None
    person: object = None
    token_expires_at: float | None = None


async def _refusal(request) -> tuple[JsonResponse | None, Caller | None]:
    """(None, the caller) if the caller may follow the stream, else (the 401/403, None)."""
    try:
        user, credential = await sync_to_async(_authenticated)(request)
    except exceptions.AuthenticationFailed as exc:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "authentication_failed"
        return _error(401, code, str(exc.detail)), None
    if isinstance(credential, ApiKey):
        if STREAM_SCOPE not in credential.scopes:
            return _error(403, "permission_denied", "This API key does not have the stream scope."), None
        return None, Caller(key=credential)
    if not user.is_authenticated:
        message = "Send an API key with the stream scope or an access token, or sign in."
        return _error(401, "not_authenticated", message), None
    if getattr(getattr(request, "organisation", None), "pk", None) is None or not await sync_to_async(user.has_perm)(
        LIVE_PERMISSION
    ):
        return _error(403, "permission_denied", "You do not have permission to follow the live decisions."), None
    return None, Caller(person=user, token_expires_at=credential.get("exp") if credential is not None else None)


def _authenticated(request) -> tuple:
    """(user, credential) as DRF authenticates an API request: (owner or anonymous, ApiKey), (person, access
    token), (person, None) for a session, or (anonymous, None). A key or token sets `request.organisation`."""
    authenticated = Request(request, authenticators=[cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES])
    return authenticated.user, authenticated.auth


def _key_still_active(key_pk: int):
    """A check for the open stream: the key is not revoked, expired or deleted since it connected."""

    @database_sync_to_async
    def still_active() -> bool:
        try:
            key = ApiKey.objects.filter(pk=key_pk).only("revoked_at", "expires_at").first()
        except DatabaseError:  # cannot tell now; asked again at the next heartbeat
            return True
        return key is not None and key.is_active

    return still_active


def _still_allowed(caller: Caller, organisation_id: int):
    """The check an open stream makes at each heartbeat, if its caller's credential can lapse: a key's, or a
    person's access token's (a session's lasts as long as the connection)."""
    if caller.key is not None:
        return _key_still_active(caller.key.pk)
    if caller.token_expires_at is not None:
        return _token_still_valid(caller.person.pk, organisation_id, expires_at=caller.token_expires_at)
    return None


def _token_still_valid(user_pk: int, organisation_id: int, *, expires_at: float):
    """A check for a person's stream opened with an access token: the token has not expired, and they are still
    an active member of the organisation the stream reads."""

    @database_sync_to_async
    def still_allowed() -> bool:
        if time.time() >= expires_at:
            return False
        try:
            return is_active_member(user_id=user_pk, organisation_id=organisation_id)
        except DatabaseError:  # cannot tell now; asked again at the next heartbeat
            return True

    return still_allowed


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="finobs"'
    return response
