"""The bell's unread count on every page (one indexed count for a signed-in person)."""

from notifications.selectors import unread_count


def bell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": unread_count(user)}
