"""Who must prove a second factor, and the check that a session did, for the actions that need it.

MFA_REQUIRED_FOR says whose sign-in needs a second factor: "staff" (people who use Django admin; the
default), "all", or "none". Whatever it says, the actions that decide what others cannot undo --
deciding a four-eyes request, promoting a model, managing API keys, exporting -- need a session verified
with a second factor (`require_second_factor`), unless it is "none". A session is verified when
django-otp's middleware found the device the person proved this session with (`user.is_verified()`).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied


class SecondFactorRequired(PermissionDenied):
    """The action needs a session verified with a second factor."""

    code = "second_factor_required"


def second_factor_applies(user) -> bool:
    """Whether `user`'s sign-in must be completed with a second factor."""
    if not getattr(user, "is_authenticated", False):
        return False
    required_for = settings.MFA_REQUIRED_FOR
    if required_for == "all":
        return True
    if required_for == "staff":
        return bool(user.is_staff or user.is_superuser)
    return False


def is_verified(user) -> bool:
    verified = getattr(user, "is_verified", None)
    return bool(verified is not None and verified())


def require_second_factor(actor, *, action: str) -> None:
    """Raise SecondFactorRequired unless `actor` is a person whose session is verified (or MFA is off).

    Actors that are not people (a management command on the server, the system) pass: they have no session.
    """
    if settings.MFA_REQUIRED_FOR == "none" or not getattr(actor, "is_authenticated", False):
        return
    if not is_verified(actor):
        raise SecondFactorRequired(
            f"{action} needs a session verified with a second factor: sign in with your authenticator code."
        )
