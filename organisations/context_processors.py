"""Templates know the organisation a page is in, and whether a platform staff member entered it for support."""

from organisations.selectors import membership_of


def organisation(request) -> dict:
    current = getattr(request, "organisation", None)
    current = current if getattr(current, "pk", None) is not None else None
    user = getattr(request, "user", None)
    return {
        "current_organisation": current,
        "in_support": current is not None and user is not None and membership_of(user) is None,
    }
