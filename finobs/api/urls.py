"""API v1: each app contributes its routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("ingestion.api.urls")),
    path("", include("delivery.api.urls")),
    path("", include("scoring.api.urls")),
    path("", include("evidence.api.urls")),
    path("", include("cases.api.urls")),
    path("", include("notifications.api.urls")),
]
