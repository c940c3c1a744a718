"""Read-only admin for the audit trail: browse and search, never add, change or delete."""

import json

from django.contrib import admin
from django.utils.html import format_html

from audit.models import AuditEvent
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


@admin.register(AuditEvent)
class AuditEventAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("id", "created_at", "actor", "action", "object_type", "object_id", "short_hash")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("actor", "action", "object_id")
    date_hierarchy = "created_at"
    fields = ("id", "created_at", "actor", "action", "object_type", "object_id", "pretty_payload", "prev_hash", "hash")
    readonly_fields = fields
    # The trail grows without bound; an exact COUNT(*) on every search page is not worth it.
    show_full_result_count = False

    @admin.display(description="hash")
    def short_hash(self, obj: AuditEvent) -> str:
        return obj.hash[:12]

    @admin.display(description="payload")
    def pretty_payload(self, obj: AuditEvent) -> str:
        text = json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)
