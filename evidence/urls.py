"""Export pages, mounted at the site root by finobs/urls.py."""

from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("cases/<str:reference>/export", views.case_export, name="case-export"),
    path("exports/", views.exports, name="exports"),
    path("exports/<int:pk>/", views.export_detail, name="export"),
    path("exports/<int:pk>/download", views.export_download, name="download"),
]
