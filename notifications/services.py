"""Telling people: the one way any app notifies (`notification_send`), reading them, choosing email.

In-app notifications are rows; the bell learns of new ones over the person's socket after commit (a hint:
the count is re-read from the database). Email goes through Django's email backend: one message per
notification for kinds a person receives "immediately", and at most one digest per hour for "digest".
"""

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit.services import audit_log
from kernel.groups import group_send_many
from notifications.models import EmailMode, Kind, Notification, NotificationPreference
from notifications.selectors import email_modes
from organisations.context import organisation_context
from organisations.selectors import members

DIGEST_INTERVAL = timedelta(hours=1)


def user_group(user_id: int) -> str:
    """The Channels group of one person's open pages (the bell)."""
    return f"notifications.user.{user_id}"


def notification_send(
    *, users: Iterable, kind: str, title: str, body: str = "", url: str = "", actor=None
) -> list[Notification]:
    """Notify `users` (members of the current organisation; others and inactive people are skipped, and so
    is `actor`, who caused it) inside the caller's transaction. After commit their bells update live and
    immediate emails are queued."""
    if kind not in Kind.values:
        raise ValidationError({"kind": f"Unknown kind of notification {kind!r}."}, code="invalid")
    if not title.strip():
        raise ValidationError({"title": "A notification needs a title."}, code="required")
    ids = {u.pk for u in users if u is not None} - {getattr(actor, "pk", None)}
    if not ids:
        return []
    people = list(members().filter(pk__in=ids, is_active=True))
    if not people:
        return []
    modes = email_modes(people, kind)
    now = timezone.now()
    created = Notification.objects.bulk_create(
        [
            Notification(
                user=person,
                kind=kind,
                title=title.strip()[:200],
                body=body,
                url=url,
                created_at=now,
                email_mode=modes[person.pk],
            )
            for person in people
        ]
    )
    sends = [
        (user_group(n.user_id), {"type": "notification.created", "kind": kind, "title": n.title, "url": url})
        for n in created
    ]
    immediate = [n.pk for n in created if n.email_mode == EmailMode.IMMEDIATE]
    transaction.on_commit(lambda: group_send_many(sends))
    if immediate:
        from notifications.tasks import notification_email_task

        transaction.on_commit(lambda: [notification_email_task.delay(pk) for pk in immediate])
    return created


def notifications_mark_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Mark `user`'s notifications read (those with `ids`, or all of them); returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    changed = unread.update(read_at=timezone.now())
    if changed:
        transaction.on_commit(lambda: group_send_many([(user_group(user.pk), {"type": "notification.read"})]))
    return changed


def notification_preference_set(*, user, kind: str, email: str) -> NotificationPreference:
    if kind not in Kind.values:
        raise ValidationError({"kind": f"Kind is one of {Kind.values}."}, code="invalid")
    if email not in EmailMode.values:
        raise ValidationError({"email": f"Email is one of {EmailMode.values}."}, code="invalid")
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"email": email})
        audit_log(
            actor=user,
            action="notification.preference_set",
            object_type="user",
            object_id=user.pk,
            payload={"kind": kind, "email": email},
        )
    return preference


def notification_email_send(*, notification_id: int) -> bool:
    """Email one notification that was to go out immediately; claimed by a conditional UPDATE, so a
    redelivered task sends nothing twice. Returns whether this call sent it."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or notification.email_mode != EmailMode.IMMEDIATE or not notification.user.email:
        return False
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    try:
        send_mail(
            subject=f"[finobs] {notification.title}",
            message=_email_line(notification),
            from_email=None,
            recipient_list=[notification.user.email],
        )
    except Exception:
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)  # the retry sends it
        raise
    return True


def notification_digests_send(*, now=None) -> int:
    """One digest email per person whose digest notifications wait and whose last digest is an hour old or
    more; returns how many emails went out. Runs across organisations (the beat task), naming each row's."""
    now = now or timezone.now()
    waiting = (
        Notification.objects.for_all_organisations()
        .filter(email_mode=EmailMode.DIGEST, emailed_at__isnull=True)
        .values_list("user_id", "organisation_id")
        .distinct()
    )
    sent = 0
    for user_id, organisation_id in list(waiting):
        last = (
            Notification.objects.for_all_organisations()
            .filter(user_id=user_id, email_mode=EmailMode.DIGEST)
            .aggregate(last=Max("emailed_at"))["last"]
        )
        if last is not None and now - last < DIGEST_INTERVAL:
            continue
        with organisation_context_of(organisation_id):
            sent += _digest_send(user_id=user_id, now=now)
    return sent


def _digest_send(*, user_id: int, now) -> int:
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update()
            .select_related("user")
            .filter(user_id=user_id, email_mode=EmailMode.DIGEST, emailed_at__isnull=True)
            .order_by("created_at", "id")
        )
        if not due:
            return 0
        user = due[0].user
        Notification.objects.filter(pk__in=[n.pk for n in due]).update(emailed_at=now)
        if not user.email or not user.is_active:
            return 0
        lines = "\n".join(_email_line(n) for n in due)
        send_mail(
            subject=f"[finobs] {len(due)} notification{'s' if len(due) != 1 else ''}",
            message=f"What happened in finobs since your last digest:\n\n{lines}\n",
            from_email=None,
            recipient_list=[user.email],
        )
    return 1


def _email_line(notification: Notification) -> str:
    link = f"{settings.SITE_URL.rstrip('/')}{notification.url}" if notification.url else ""
    parts = [f"- {notification.title}", notification.body, link]
    return "\n  ".join(p for p in parts if p)


def organisation_context_of(organisation_id: int):
    from organisations.models import Organisation

    return organisation_context(Organisation.objects.get(pk=organisation_id))
