"""GET /api/v1/stream/decisions: Server-Sent Events of new decisions, for integrators and people.

An async Django view (DRF views are sync and would hold a worker thread per subscriber), served by
daphne. It authenticates with the same API key logic as the API (a key with the `stream` scope),
or a signed-in user with scoring.view_live_decisions, and answers errors in the API's shape.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework import exceptions

from finobs.api.errors import error_body
from ingestion.auth import ApiKeyAuthentication
from ingestion.feed import FeedFilters, FeedParameterError, FeedReader, parse_last_event_id
from ingestion.sse import decision_stream

STREAM_SCOPE = "stream"
LIVE_PERMISSION = "scoring.view_live_decisions"


@require_GET
async def decisions_stream_view(request):
    refusal = await _refusal(request)
    if refusal is not None:
        return refusal
    try:
        filters = FeedFilters.from_query(request.GET)
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
    )
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response


async def _refusal(request) -> JsonResponse | None:
    """None if the caller may follow the stream, else the error response (401 or 403)."""
    try:
        authenticated = await sync_to_async(ApiKeyAuthentication().authenticate)(request)
    except exceptions.AuthenticationFailed as exc:
        return _error(401, "authentication_failed", str(exc.detail))
    if authenticated is not None:
        _user, key = authenticated
        if STREAM_SCOPE not in key.scopes:
            return _error(403, "permission_denied", "This API key does not have the stream scope.")
        return None
    user = await request.auser()
    if not user.is_authenticated:
        return _error(401, "not_authenticated", "Send an API key with the stream scope, or sign in.")
    if not await sync_to_async(user.has_perm)(LIVE_PERMISSION):
        return _error(403, "permission_denied", "You do not have permission to follow the live decisions.")
    return None


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="finobs"'
    return response
