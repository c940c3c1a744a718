"""Admin for organisations (platform staff), and the scoping every business admin page shares.

Querysets, list filters and autocompletes of organisation-owned models are already the current
organisation's (their default managers filter by it); what is left is the people a form may pick (an
assignee, a team's members), which `OrganisationScoped` limits to the organisation's members.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model

from organisations.models import Membership, Organisation
from organisations.selectors import is_platform_staff, members


class OrganisationScoped:
    """Mixin for the ModelAdmin of an organisation-owned model: people to pick are the organisation's."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is get_user_model():
            kwargs["queryset"] = members()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.related_model is get_user_model():
            kwargs["queryset"] = members()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class PlatformOnly:
    """A ModelAdmin only platform staff use (organisations and who belongs to them)."""

    def has_module_permission(self, request):
        return is_platform_staff(request.user)

    def has_view_permission(self, request, obj=None):
        return is_platform_staff(request.user)

    def has_add_permission(self, request):
        return is_platform_staff(request.user)

    def has_change_permission(self, request, obj=None):
        return is_platform_staff(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # an organisation's data stays; it is deactivated instead


@admin.register(Membership)
class MembershipAdmin(PlatformOnly, admin.ModelAdmin):
    list_display = ["user", "organisation", "joined_at"]
    list_filter = ["organisation"]
    search_fields = ["user__username", "organisation__slug"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj is not None else []


__all__ = ["MembershipAdmin", "Organisation", "OrganisationScoped", "PlatformOnly"]
