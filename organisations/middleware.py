"""Requests run in their organisation: set from the signed-in person here, from the API key or token by
API authentication (which runs inside the view)."""

from django.http import HttpResponseRedirect
from django.urls import reverse

from organisations.context import NOBODY, activate, deactivate, scope
from organisations.selectors import is_platform_staff, organisation_of

# Pages that are not an organisation's: platform staff outside every organisation may use these.
OUTSIDE_ORGANISATIONS = ("/accounts/", "/admin/", "/api/", "/static/", "/health/", "/metrics", "/ws/")


class OrganisationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        organisation = organisation_of(request.user, getattr(request, "session", None))
        request.organisation = organisation
        if (
            organisation is NOBODY
            and not request.path.startswith(OUTSIDE_ORGANISATIONS)
            and is_platform_staff(request.user)
        ):
            # The workspace is an organisation's: platform staff enter one for support first.
            return HttpResponseRedirect(reverse("accounts:support"))
        # Anonymous so far (None): an API key or token decides later, as API authentication sets it; whatever
        # it sets is undone with the rest when the request ends.
        token = activate(organisation if organisation is not None else scope())
        try:
            return self.get_response(request)
        finally:
            deactivate(token)
