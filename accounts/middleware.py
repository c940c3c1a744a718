"""A person whose sign-in needs a second factor proves it before anything else (after django-otp's middleware)."""

from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode

from kernel.api.errors import error_body
from kernel.mfa import is_verified, second_factor_applies

# Reachable before the second factor: signing in and out, the second-factor page itself, probes, files.
OPEN_PREFIXES = ("/accounts/", "/static/", "/health/", "/metrics")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not request.path.startswith(OPEN_PREFIXES) and second_factor_applies(user) and not is_verified(user):
            if request.path.startswith("/api/"):
                # An API key authenticates on its own (no session): only sessions are held here.
                if not request.headers.get("X-Webhook-Key") and not request.headers.get("Authorization"):
                    body = error_body("second_factor_required", "Verify this session with your second factor first.")
                    return JsonResponse(body, status=403)
            else:
                target = reverse("accounts:second-factor") + "?" + urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(target)
        return self.get_response(request)
