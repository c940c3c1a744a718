"""What a locked-out sign-in is answered (django-axes' AXES_LOCKOUT_CALLABLE): the page, or on the API its error."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from kernel.api.errors import error_body

LOCKED_OUT = "Too many failed sign-ins: this account is locked from your address for a while."


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("locked_out", LOCKED_OUT), status=settings.AXES_HTTP_RESPONSE_CODE)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=settings.AXES_HTTP_RESPONSE_CODE)
