"""Admin for the outbox: read-only, to see what waits to be published."""

import json

from django.contrib import admin
from django.utils.html import format_html

from delivery.models import OutboxEvent
from delivery.selectors import event_data
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


@admin.register(OutboxEvent)
class OutboxEventAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("id", "event_type", "created_at", "published_at", "attempts")
    list_filter = ("event_type", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("event_type",)
    date_hierarchy = "created_at"
    readonly_fields = ("event_type", "payload", "data", "created_at", "published_at", "attempts")

    @admin.display(description="data as sent")
    def data(self, event: OutboxEvent) -> str:
        """A decision event stores a few fields; streams and callbacks send it completed (events_data)."""
        return format_html("<pre>{}</pre>", json.dumps(event_data(event), indent=2))
