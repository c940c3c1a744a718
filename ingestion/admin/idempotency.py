"""Admin for idempotency keys: read-only, to answer "did my retry get replayed?"."""

from django.contrib import admin

from ingestion.models import IdempotencyKey
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("key", "api_key", "response_status", "created_at", "completed_at")
    list_filter = ("response_status",)
    search_fields = ("key", "api_key__prefix", "api_key__name")
    list_select_related = ("api_key",)
    date_hierarchy = "created_at"
    exclude = ("response_body",)
    readonly_fields = ("api_key", "key", "request_sha256", "response_status", "created_at", "completed_at")
