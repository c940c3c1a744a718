"""Reads of a person's notifications (always their own) and email choices."""

from collections.abc import Iterable

from django.conf import settings

from notifications.models import EmailMode, Kind, Notification, NotificationPreference


def email_modes(users: Iterable, kind: str) -> dict[int, str]:
    """Each person's email choice for `kind`: their own, else the deployment's default for the kind."""
    ids = [u.pk for u in users]
    chosen = dict(NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list("user_id", "email"))
    default = settings.NOTIFICATION_EMAIL_DEFAULTS.get(kind, EmailMode.OFF)
    return {pk: chosen.get(pk, default) for pk in ids}


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_of(user, *, unread_only: bool = False):
    rows = Notification.objects.filter(user=user)
    return rows.filter(read_at__isnull=True) if unread_only else rows


def preferences_of(user) -> list[tuple[str, str, str]]:
    """(kind, label, email mode) for every kind: the person's choice or the default."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    return [
        (kind, label, chosen.get(kind, settings.NOTIFICATION_EMAIL_DEFAULTS.get(kind, EmailMode.OFF)))
        for kind, label in Kind.choices
    ]
