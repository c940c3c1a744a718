"""Admin: notifications are read-only evidence of what people were told; email choices go through the service."""

from django.contrib import admin

from notifications import services
from notifications.models import Notification, NotificationPreference
from organisations.admin import OrganisationScoped


@admin.register(Notification)
class NotificationAdmin(OrganisationScoped, admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "title", "read_at", "email_mode", "emailed_at")
    list_filter = ("kind", "email_mode")
    search_fields = ("title", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(OrganisationScoped, admin.ModelAdmin):
    list_display = ("user", "kind", "email")
    list_filter = ("kind", "email")
    search_fields = ("user__username",)
    list_select_related = ("user",)

    def save_model(self, request, obj, form, change):
        services.notification_preference_set(user=obj.user, kind=obj.kind, email=obj.email)
