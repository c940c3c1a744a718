"""What pages share: running a service (its refusals become messages on the next page), and rate limits.

A service's refusals are shown on the page a form returns to (post/redirect/get). Pages that cost the
server far more than an ordinary read have a budget per person (`rate_limited`); over it they answer
429 with Retry-After and a page, or for htmx the fragment, saying when to try again.
"""

import functools
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import render

from kernel.errors import Conflict
from kernel.ratelimits import person_rate_limit_wait, retry_after_s


def run_service(request, func: Callable, *args, **kwargs) -> bool:
    """Call `func`; True if it succeeded, False (with the reason as an error message) if a rule refused it.

    A refusal because of who asks (PermissionDenied) is not a message but the 403 it is: it propagates.
    """
    try:
        func(*args, **kwargs)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return False
    except Conflict as exc:
        messages.error(request, exc.message)
        return False
    return True


def rate_limited(budget: str):
    """View decorator: each request of the signed-in person counts against USER_EXPENSIVE_RATES[budget].

    Goes under login_required and the permission checks, so refused requests spend nothing.
    """

    def decorate(view):
        @functools.wraps(view)
        def limited(request, *args, **kwargs):
            rate = settings.USER_EXPENSIVE_RATES[budget]
            wait_s = person_rate_limit_wait(request.user, budget=budget, rate=rate)
            if wait_s > 0:
                return too_many_requests(request, wait_s)
            return view(request, *args, **kwargs)

        return limited

    return decorate


def too_many_requests(request, wait_s: float):
    """429 with Retry-After; the body says when to try again: the fragment for htmx, else a whole page."""
    seconds = retry_after_s(wait_s)
    context = {"retry_after_s": seconds, "retry_after_min": -(-seconds // 60)}
    template = "_rate_limited.html" if request.headers.get("HX-Request") else "rate_limited.html"
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(seconds)
    return response
