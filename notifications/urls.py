"""The notifications page, mounted at the site root by finobs/urls.py."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/read", views.notifications_read, name="read-all"),
    path("notifications/preferences", views.preferences_save, name="preferences"),
    path("notifications/<int:pk>/open", views.notification_open, name="open"),
]
