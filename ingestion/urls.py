"""ingestion's pages (CSV uploads), mounted at the site root by finobs/urls.py."""

from django.urls import path

from ingestion import views

app_name = "ingestion"

urlpatterns = [
    path("ingest/uploads/", views.uploads, name="uploads"),
    path("ingest/uploads/<int:job_id>/", views.upload_detail, name="upload"),
]
