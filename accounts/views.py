"""The second-factor page: enrol an authenticator app (a QR code), or verify this session with a code."""

import segno
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.services import second_factor_confirm, second_factor_enrolment, second_factor_verify
from accounts.services.second_factor import is_enrolled


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
