"""Admin for teams and the routing rules that send new cases to them."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from cases.models import (
    Availability,
    RoutingRule,
    Team,
)
from cases.services.assignment import availability_set
from organisations.admin import OrganisationScoped


@admin.register(Team)
class TeamAdmin(OrganisationScoped, SimpleHistoryAdmin):
    list_display = ("name", "slug", "assignment", "lead", "escalation_team")
    list_filter = ("assignment",)
    list_select_related = ("lead", "escalation_team")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(OrganisationScoped, SimpleHistoryAdmin):
    list_display = ("priority", "name", "team", "account_prefix", "min_severity", "source", "rule_code", "is_active")
    list_display_links = ("name",)
    list_editable = ("priority", "is_active")
    list_filter = ("team", "is_active")
    list_select_related = ("team",)


@admin.register(Availability)
class AvailabilityAdmin(OrganisationScoped, SimpleHistoryAdmin):
    """Who takes automatically assigned cases; saving goes through the service (audited)."""

    list_display = ("user", "is_available", "out_of_office_until", "note")
    list_filter = ("is_available",)
    list_select_related = ("user",)
    search_fields = ("user__username",)

    def save_model(self, request, obj, form, change):
        availability_set(
            user=obj.user,
            actor=request.user,
            is_available=obj.is_available,
            out_of_office_until=obj.out_of_office_until,
            note=obj.note,
        )
