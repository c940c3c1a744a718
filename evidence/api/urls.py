"""Export API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from django.urls import path

from evidence.api import views

urlpatterns = [
    path("cases/<str:reference>/export", views.CaseExportView.as_view(), name="api-case-export"),
    path("exports/", views.ExportListView.as_view(), name="api-export-list"),
    path("exports/keys", views.SigningKeysView.as_view(), name="api-export-keys"),
    path("exports/audit", views.AuditExportView.as_view(), name="api-export-audit"),
    path("exports/transactions", views.TransactionExportView.as_view(), name="api-export-transactions"),
    path("exports/<int:pk>", views.ExportDetailView.as_view(), name="api-export-detail"),
    path("exports/<int:pk>/download", views.ExportDownloadView.as_view(), name="api-export-download"),
]
