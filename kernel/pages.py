"""Running a service from a page: its refusals become messages shown on the next page (post/redirect/get)."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError

from kernel.errors import Conflict


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
