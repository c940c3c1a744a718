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
    readonly_fields = [f.name for f in ExportRecord._meta.fields if f.name not in ("id", "organisation")]
