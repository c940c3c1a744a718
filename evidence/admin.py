"""Read-only admin for export records: who exported or archived what, when, with the bundle's hash and key."""

from django.contrib import admin

from evidence.models import ExportRecord
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


@admin.register(ExportRecord)
class ExportRecordAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("id", "kind", "subject", "actor", "status", "created_at", "size_bytes", "key_id")
    list_filter = ("kind", "status")
    search_fields = ("subject", "actor", "sha256")
    list_select_related = ("requested_by",)
    readonly_fields = (
        "kind",
        "subject",
        "parameters",
        "requested_by",
        "actor",
        "status",
        "total_items",
        "processed_items",
        "file_name",
        "size_bytes",
        "sha256",
        "key_id",
        "failure",
        "created_at",
        "started_at",
        "finished_at",
    )
