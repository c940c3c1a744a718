"""One error shape for the whole API: {"code", "message", "details"} with the right status."""

import logging
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kernel.errors import Conflict

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error raised by our own code with an explicit code and details."""

    def __init__(self, *, status_code: int, code: str, message: str, details: dict | None = None):
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or {}
        super().__init__(detail=message, code=code)


_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid",
}


# What a client is told to wait before trying again while the database does not answer: long enough not to
# hammer a database on its way back, short enough that clients come back soon after it is.
DATABASE_RETRY_AFTER_S = 5


def is_database_unavailable(exc: BaseException | None) -> bool:
    """The database could not be reached, or the connection broke mid-request (a restart, a failover, a network
    cut, the connection pool's wait for a connection running out): nothing of the request's transaction was
    committed, and the same request can be sent again."""
    return isinstance(exc, OperationalError | InterfaceError)


def database_unavailable_body() -> dict:
    return error_body(
        "database_unavailable",
        "The database is not answering; nothing of this request was stored. Send it again shortly.",
        {"retry_after_s": DATABASE_RETRY_AFTER_S},
    )


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"code": code, "message": message, "details": details or {}}


def exception_handler(exc, context):
    """DRF's exception handler: every error, ours and the framework's, as {code, message, details}.

    A service's refusals arrive as they were raised: Conflict (409), Django's ValidationError (400, with
    the fields' messages) and PermissionDenied (403, with the service's reason).
    """
    if is_database_unavailable(exc):
        logger.warning("Database unavailable: %s", exc)
        retry_after = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
        return Response(database_unavailable_body(), status=status.HTTP_503_SERVICE_UNAVAILABLE, headers=retry_after)
    if isinstance(exc, Conflict):
        return Response(error_body(exc.code, exc.message, exc.details), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"errors": exc.messages}
        return Response(error_body("invalid", "The request is not valid.", details), status=status.HTTP_400_BAD_REQUEST)
    # DRF maps these two Django exceptions itself; map them first so `exc.detail` exists below.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None, code=getattr(exc, "code", None))
    if isinstance(exc, ApiError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "The server could not complete the request."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if (
        isinstance(exc, exceptions.PermissionDenied | exceptions.AuthenticationFailed)
        and isinstance(exc.get_codes(), str)
        and exc.get_codes() != exc.default_code
    ):
        code = exc.get_codes()  # a service's own reason, such as four_eyes or token_expired
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"errors": exc.detail}
        message = "The request is not valid."
    else:
        details = {}
        message = str(exc.detail)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details = {"retry_after_s": int(exc.wait)}
    response.data = error_body(code, message, details)
    return response


def not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Nothing is here."), status=404)


UNAVAILABLE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>finobs is unavailable</title></head>
<body><h1>finobs is unavailable for a moment</h1>
<p>Its database is not answering. Nothing you sent in this request was saved. Try again in a few seconds.</p>
</body></html>
"""


def server_error(request):
    """handler500. A request that failed because the database is unreachable answers 503 with Retry-After: the
    API its error body, pages a plain page that needs no database (no template context, no session)."""
    if is_database_unavailable(sys.exc_info()[1]):
        if request.path.startswith("/api/"):
            response = JsonResponse(database_unavailable_body(), status=503)
        else:
            response = HttpResponse(UNAVAILABLE_PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response
    return JsonResponse(error_body("server_error", "The server could not complete the request."), status=500)
