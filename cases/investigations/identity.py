"""The agent's system identity: one user per organisation, in the `agent` role (read access and the right to
propose). It asks for its proposals' decisions; it can never decide one, nor sign in."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from organisations.context import require_organisation_id
from organisations.models import Membership, Organisation

AGENT_ROLE = "agent"


def agent_username(organisation: Organisation) -> str:
    return f"finobs-agent.{organisation.slug}"


def agent_identity(organisation_id: int | None = None):
    """The organisation's agent user (the current organisation's unless named), created on first use."""
    organisation = Organisation.objects.get(pk=organisation_id or require_organisation_id())
    user_model = get_user_model()
    username = agent_username(organisation)
    user = user_model.objects.filter(username=username).first()
    if user is not None:
        return user
    with transaction.atomic():
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"first_name": "Investigation", "last_name": "agent", "is_active": True}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get(name=AGENT_ROLE))
            Membership.objects.get_or_create(user=user, defaults={"organisation": organisation})
    return user


def is_agent_identity(user) -> bool:
    return bool(getattr(user, "username", "").startswith("finobs-agent."))
