"""Admin for teams and the routing rules that send new cases to them."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from cases.models import (
    RoutingRule,
    Team,
)
from organisations.admin import OrganisationScoped


@admin.register(Team)
class TeamAdmin(OrganisationScoped, SimpleHistoryAdmin):
    list_display = ("name", "slug")
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
