"""The approvals page, mounted at the site root by finobs/urls.py."""

from django.urls import path, re_path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.queue, name="queue"),
    re_path(
        r"^approvals/(?P<kind_name>[a-z_]+)/(?P<request_id>\d+)/(?P<decision>approve|reject)$",
        views.decide,
        name="decide",
    ),
]
