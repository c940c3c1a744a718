"""GET /api/v1/stream/decisions: Server-Sent Events of new decisions, for integrators and people.

An async Django view (DRF views are sync and would hold a worker thread per subscriber), served by
daphne. It authenticates with the same API key logic as the API (a key with the `stream` scope),
or a signed-in user with scoring.view_live_decisions, and answers errors in the API's shape.
"""

from dataclasses import replace

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework import exceptions

from apikeys.authentication import ApiKeyAuthentication
from apikeys.models import ApiKey
from delivery.feed import FeedFilters, FeedParameterError, FeedReader, parse_last_event_id
from delivery.sse import decision_stream
from kernel.api.errors import error_body

STREAM_SCOPE = "stream"
LIVE_PERMISSION = "scoring.view_live_decisions"


@require_GET
async def decisions_stream_view(request):
    refusal, key = await _refusal(request)
    if refusal is not None:
        return refusal
    try:
        filters = FeedFilters.from_query(request.GET)
        if key is not None:
            filters = replace(filters, organisation_id=key.organisation_id, source=key.source)
        else:
            organisation_id = getattr(getattr(request, "organisation", None), "pk", None)
            filters = replace(filters, organisation_id=organisation_id, viewer=await request.auser())
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
        still_allowed=_key_still_active(key.pk) if key is not None else None,
    )
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response


async def _refusal(request) -> tuple[JsonResponse | None, ApiKey | None]:
    """(None, the key or None for a person) if the caller may follow the stream, else (the 401/403, None)."""
    try:
        authenticated = await sync_to_async(ApiKeyAuthentication().authenticate)(request)
    except exceptions.AuthenticationFailed as exc:
        return _error(401, "authentication_failed", str(exc.detail)), None
    if authenticated is not None:
        _user, key = authenticated
        if STREAM_SCOPE not in key.scopes:
            return _error(403, "permission_denied", "This API key does not have the stream scope."), None
        return None, key
    user = await request.auser()
    if not user.is_authenticated:
        return _error(401, "not_authenticated", "Send an API key with the stream scope, or sign in."), None
    if getattr(getattr(request, "organisation", None), "pk", None) is None or not await sync_to_async(user.has_perm)(
        LIVE_PERMISSION
    ):
        return _error(403, "permission_denied", "You do not have permission to follow the live decisions."), None
    return None, None


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


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="finobs"'
    return response
