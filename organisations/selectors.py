"""Who belongs where: the organisation a person, a session or a key acts in."""

from django.contrib.auth import get_user_model

from organisations.context import NOBODY, current_organisation
from organisations.models import Membership, Organisation

PLATFORM_GROUP = "platform"
# The organisation a platform staff member entered for support, and why, in their session.
SUPPORT_SESSION_KEY = "finobs_support_organisation"


def membership_of(user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def is_active_member(*, user_id: int, organisation_id: int) -> bool:
    """Whether the person `user_id` is active and still a member of the active organisation `organisation_id`:
    what a credential issued to them in it (an access token, an open stream) rests on."""
    return Membership.objects.filter(
        user_id=user_id, user__is_active=True, organisation_id=organisation_id, organisation__is_active=True
    ).exists()


def is_platform_staff(user) -> bool:
    """Platform staff manage organisations and belong to none."""
    if not getattr(user, "is_authenticated", False) or membership_of(user) is not None:
        return False
    return user.is_superuser or user.groups.filter(name=PLATFORM_GROUP).exists()


def support_organisation(user, session) -> Organisation | None:
    """The organisation a platform staff member entered for support in this session, if any."""
    if session is None or not is_platform_staff(user):
        return None
    entered = session.get(SUPPORT_SESSION_KEY)
    if not entered:
        return None
    return Organisation.objects.filter(pk=entered["organisation"], is_active=True).first()


def organisation_of(user, session=None):
    """The organisation `user` acts in: their own, the one a platform staff member entered for support,
    or NOBODY (signed in, outside every organisation, or their organisation is inactive). None for an
    anonymous user, whose API key or token decides later."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = membership_of(user)
    if membership is not None:
        organisation = membership.organisation
        return organisation if organisation.is_active else NOBODY
    return support_organisation(user, session) or NOBODY


def acting_organisation_id(user) -> int | None:
    """The id of the organisation `user` acts in: their own, or (platform staff) the one the current context
    entered for support; None outside every organisation."""
    membership = membership_of(user)
    if membership is not None:
        return membership.organisation_id
    current = current_organisation()
    return current.pk if current is not None and is_platform_staff(user) else None


def members(organisation=None, *, users=None):
    """The people of `organisation` (the current one unless named; nobody outside one), among `users` (a
    queryset of users, every user unless given)."""
    organisation = organisation if organisation is not None else current_organisation()
    users = get_user_model().objects.all() if users is None else users
    if organisation is None:
        return users.none()
    return users.filter(membership__organisation=organisation)
