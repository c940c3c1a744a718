"""notifications API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from django.urls import path

from notifications.api import views

urlpatterns = [
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("notifications/read", views.NotificationReadView.as_view(), name="notifications-read"),
    path("notifications/preferences", views.NotificationPreferencesView.as_view(), name="notification-preferences"),
]
