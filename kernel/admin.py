"""Admin building blocks shared by every app."""

from collections.abc import Callable

from django.contrib import admin, messages

from kernel.pages import run_service


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse and search only: for records that are evidence (audit events, decisions, timelines)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def admin_action(request, model_admin: admin.ModelAdmin, action: Callable) -> None:
    """Run a service from an admin action: what it returned, or the rule that refused it, as a message."""
    results = []
    if run_service(request, lambda: results.append(action())):
        model_admin.message_user(request, f"Done: {results[0]}.", messages.SUCCESS)
