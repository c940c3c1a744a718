"""Admin for CSV uploads: read-only, to follow jobs and their row errors (the file itself is not shown)."""

from django.contrib import admin

from ingestion.models import UploadJob
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


@admin.register(UploadJob)
class UploadJobAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = (
        "id",
        "original_name",
        "uploaded_by",
        "source",
        "status",
        "total_rows",
        "processed_rows",
        "accepted",
        "duplicates",
        "invalid",
        "created_at",
    )
    list_filter = ("status", "source")
    list_select_related = ("uploaded_by",)
    search_fields = ("original_name", "uploaded_by__username")
    date_hierarchy = "created_at"
    exclude = ("content",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")
