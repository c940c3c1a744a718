"""Creating organisations, and platform staff entering one for support; every step audited."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from audit.services import PLATFORM, audit_log
from kernel.errors import Conflict
from organisations.context import organisation_context
from organisations.models import Organisation
from organisations.selectors import SUPPORT_SESSION_KEY, is_platform_staff
from organisations.signals import organisation_created

SUPPORT_REASON_MIN_LENGTH = 10


def organisation_create(*, name: str, slug: str = "", actor, settings: dict | None = None) -> Organisation:
    """A new organisation, set up as every app starts one (the shipped rules, the default model), audited in
    the platform's chain and as the first event of its own."""
    name = name.strip()
    slug = slugify(slug or name)
    if not name or not slug:
        raise ValidationError("An organisation needs a name.", code="invalid_organisation")
    if Organisation.objects.filter(slug=slug).exists() or Organisation.objects.filter(name=name).exists():
        raise Conflict(f"An organisation named {name!r} or {slug!r} exists.", code="organisation_exists")
    with transaction.atomic():
        organisation = Organisation.objects.create(name=name, slug=slug, settings=settings or {})
        payload = {"slug": slug, "name": name}
        audit_log(actor=actor, action="organisation.created", object_type="organisation", object_id=slug,
                  payload=payload, organisation=PLATFORM)  # fmt: skip
        with organisation_context(organisation):
            audit_log(actor=actor, action="organisation.created", object_type="organisation", object_id=slug,
                      payload=payload)  # fmt: skip
            organisation_created.send(sender=Organisation, organisation=organisation, actor=actor)
    return organisation


def support_enter(*, user, organisation: Organisation, reason: str, session) -> None:
    """A platform staff member enters `organisation` to support it, for the rest of the session or until
    they leave: audited in the organisation's chain with the reason, which its admins see."""
    if not is_platform_staff(user):
        raise PermissionDenied("Only platform staff enter organisations for support.")
    reason = reason.strip()
    if len(reason) < SUPPORT_REASON_MIN_LENGTH:
        raise ValidationError(
            f"Say why you enter (at least {SUPPORT_REASON_MIN_LENGTH} characters): the organisation's admins read it.",
            code="support_reason_required",
        )
    if not organisation.is_active:
        raise ValidationError("This organisation is inactive.", code="organisation_inactive")
    support_leave(user=user, session=session)
    audit_log(actor=user, action="support.entered", object_type="organisation", object_id=organisation.slug,
              payload={"reason": reason}, organisation=organisation)  # fmt: skip
    session[SUPPORT_SESSION_KEY] = {
        "organisation": organisation.pk,
        "reason": reason,
        "entered_at": timezone.now().isoformat(),
    }


def support_leave(*, user, session) -> None:
    """Leave the organisation entered for support, if any (audited in its chain)."""
    entered = session.pop(SUPPORT_SESSION_KEY, None)
    if not entered:
        return
    organisation = Organisation.objects.filter(pk=entered["organisation"]).first()
    if organisation is not None:
        audit_log(actor=user, action="support.left", object_type="organisation", object_id=organisation.slug,
                  payload={}, organisation=organisation)  # fmt: skip
