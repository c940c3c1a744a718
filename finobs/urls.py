"""URL map: admin, API v1, OpenAPI schema and docs, health, metrics."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from finobs import health
from finobs.metrics import MetricsView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("finobs.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, which the content security policy allows.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("", include("accounts.urls")),
    path("", include("approvals.urls")),
    path("", include("ingestion.urls")),
    path("", include("evidence.urls")),
    path("", include("scoring.urls")),
    path("", include("cases.urls")),
    path("", include("notifications.urls")),
]

handler404 = "kernel.api.errors.not_found"
handler500 = "kernel.api.errors.server_error"
