"""People and organisations in Django admin.

An organisation's admin (org_admin) sees and manages its own members only; the people they add join their
organisation and may hold its roles, never platform staff's. Platform staff see everyone, and create
organisations through the service that sets each up (its rules, its default model, its audit chain).
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from accounts.services import organisation_create
from audit.services import audit_log
from kernel.errors import Conflict
from organisations.context import current_organisation
from organisations.models import Membership, Organisation
from organisations.selectors import PLATFORM_GROUP, is_platform_staff, members

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    extra = 0
    verbose_name = "organisation"

    def has_view_permission(self, request, obj=None):
        return is_platform_staff(request.user)

    def has_add_permission(self, request, obj=None):
        return is_platform_staff(request.user)

    def has_change_permission(self, request, obj=None):
        return is_platform_staff(request.user)


@admin.register(User)
class OrganisationUserAdmin(UserAdmin):
    """Django's user admin, narrowed to the current organisation's members for its admins."""

    inlines = [MembershipInline]
    list_display = [*UserAdmin.list_display, "organisation"]

    @admin.display(description="Organisation", ordering="membership__organisation__name")
    def organisation(self, user):
        membership = getattr(user, "membership", None)
        return membership.organisation if membership else "— platform"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("membership__organisation")
        if is_platform_staff(request.user):
            return queryset
        return members(users=queryset)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_platform_staff(request.user) or request.user.is_superuser:
            return fieldsets
        # An organisation's admin grants roles; superuser status and single permissions are the platform's.
        hidden = {"is_superuser", "user_permissions"}
        return [
            (name, {**options, "fields": [f for f in options.get("fields", ()) if f not in hidden]})
            for name, options in fieldsets
        ]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not is_platform_staff(request.user):
            kwargs["queryset"] = Group.objects.exclude(name=PLATFORM_GROUP)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_inlines(self, request, obj):
        return self.inlines if is_platform_staff(request.user) else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        organisation = current_organisation()
        if not change and organisation is not None and not is_platform_staff(request.user):
            Membership.objects.get_or_create(user=obj, defaults={"organisation": organisation})


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    """Platform staff create and manage organisations; an organisation's admin sees its own and chooses its
    settings (ORGANISATION_SETTINGS), nothing else."""

    list_display = ["name", "slug", "is_active", "members", "created_at"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "is_active", "settings"]

    @admin.display(description="Members")
    def members(self, organisation):
        return organisation.memberships.count()

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_platform_staff(request.user):
            return queryset
        own = current_organisation()
        return queryset.filter(pk=own.pk) if own is not None else queryset.none()

    def get_readonly_fields(self, request, obj=None):
        if not is_platform_staff(request.user):
            return ["name", "slug", "is_active"]
        return ["slug"] if obj is not None else []

    def has_add_permission(self, request):
        return is_platform_staff(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # an organisation's data stays; it is deactivated instead

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            audit_log(actor=request.user, action="organisation.changed", object_type="organisation",
                      object_id=obj.slug, payload={"fields": form.changed_data, "settings": obj.settings},
                      organisation=obj)  # fmt: skip
            return
        try:
            created = organisation_create(name=obj.name, slug=obj.slug, settings=obj.settings, actor=request.user)
        except (ValidationError, Conflict) as exc:
            messages.error(request, str(getattr(exc, "message", exc)))
            raise
        obj.pk = created.pk
        obj._state.adding = False
