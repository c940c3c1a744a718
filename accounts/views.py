"""The second-factor page (enrol an authenticator app from a QR code, or verify this session with a code),
and platform staff's support page."""

import segno
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.services import (
    second_factor_confirm,
    second_factor_enrolment,
    second_factor_verify,
    support_enter,
    support_leave,
)
from accounts.services.second_factor import is_enrolled
from organisations.models import Organisation
from organisations.selectors import is_platform_staff, support_organisation


@require_http_methods(["GET", "POST"])
@login_required
def second_factor(request):
    user = request.user
    target = _next(request)
    if is_enrolled(user):
        if request.method == "POST":
            if second_factor_verify(request=request, token=request.POST.get("token", "")):
                return HttpResponseRedirect(target)
            return render(request, "accounts/second_factor.html", {"mode": "verify", "wrong": True}, status=400)
        return render(request, "accounts/second_factor.html", {"mode": "verify", "next": target})
    device = second_factor_enrolment(user=user)
    if request.method == "POST":
        codes = second_factor_confirm(request=request, device=device, token=request.POST.get("token", ""))
        if codes is not None:
            return render(request, "accounts/second_factor.html", {"mode": "enrolled", "codes": codes, "next": target})
    context = {
        "mode": "enrol",
        "next": target,
        "wrong": request.method == "POST",
        "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=4),
        "secret": _spaced(device.config_url.split("secret=")[1].split("&")[0]),
    }
    return render(request, "accounts/second_factor.html", context, status=400 if request.method == "POST" else 200)


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


def _spaced(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_http_methods(["GET", "POST"])
@login_required
def support(request):
    """Platform staff: enter an organisation for support (with a reason, audited in its chain), or leave it."""
    if not is_platform_staff(request.user):
        raise PermissionDenied
    error = ""
    if request.method == "POST":
        if "leave" in request.POST:
            support_leave(user=request.user, session=request.session)
            return HttpResponseRedirect(reverse("accounts:support"))
        organisation = Organisation.objects.filter(slug=request.POST.get("organisation", "")).first()
        try:
            if organisation is None:
                raise ValidationError("Choose an organisation.")
            support_enter(
                user=request.user,
                organisation=organisation,
                reason=request.POST.get("reason", ""),
                session=request.session,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            return HttpResponseRedirect("/")
    context = {
        "organisations": Organisation.objects.filter(is_active=True).order_by("name"),
        "entered": support_organisation(request.user, request.session),
        "error": error,
    }
    return render(request, "accounts/support.html", context, status=400 if error else 200)
