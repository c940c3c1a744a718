"""Admin for callbacks: endpoints (secret shown once), deliveries with their attempts, redelivery by action."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from delivery.models import CallbackEndpoint, Delivery, DeliveryAttempt
from delivery.services import (
    DeliveryInFlight,
    callback_endpoint_create,
    callback_endpoint_delete,
    callback_endpoint_rotate_secret,
    callback_endpoint_update,
    delivery_redeliver,
)
from delivery.services.callback_endpoints import check_endpoint
from kernel.admin import ReadOnlyAdmin
from kernel.encryption import fingerprint
from organisations.admin import OrganisationScoped


class CallbackEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = CallbackEndpoint
        fields = ("name", "url", "event_types", "flagged_only", "is_active", "owner", "api_key")

    def clean(self):
        cleaned = super().clean()
        if "url" in cleaned and "event_types" in cleaned:
            try:
                check_endpoint(
                    url=cleaned["url"], event_types=cleaned["event_types"], for_key=cleaned.get("api_key") is not None
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return cleaned


@admin.register(CallbackEndpoint)
class CallbackEndpointAdmin(OrganisationScoped, SimpleHistoryAdmin):
    form = CallbackEndpointForm
    list_display = ("name", "url", "event_types", "is_active", "breaker_state", "owner", "api_key", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = (
        "secret_fingerprint",
        "created_at",
        "consecutive_failures",
        "breaker_open_until",
        "last_event_id",
    )
    fields = ("name", "url", "event_types", "flagged_only", "is_active", "owner", "api_key", *readonly_fields)
    actions = ["rotate_secret"]

    @admin.display(description="signing secret")
    def secret_fingerprint(self, obj):
        """Only its last characters, to compare with the receiver's copy: the secret is shown once, at creation."""
        return fingerprint(obj.secret)

    @admin.display(description="breaker")
    def breaker_state(self, obj):
        return obj.breaker_state

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in ("name", "url", "event_types", "flagged_only", "is_active")}
        if change:
            callback_endpoint_update(endpoint=obj, actor=request.user, **data, owner=obj.owner, api_key=obj.api_key)
            obj.refresh_from_db()
            return
        endpoint, secret = callback_endpoint_create(**data, owner=obj.owner, api_key=obj.api_key, actor=request.user)
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        messages.warning(request, f"Copy the signing secret now, it is not shown again: {secret}")

    def delete_model(self, request, obj):
        callback_endpoint_delete(endpoint=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            callback_endpoint_delete(endpoint=endpoint, actor=request.user)

    @admin.action(description="Rotate the signing secret (shown once)", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            _, secret = callback_endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
            messages.warning(request, f"New secret for {endpoint.name}, shown once: {secret}")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("attempted_at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("id", "webhook_id", "endpoint", "event_type", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "event_type", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("webhook_id", "event_type")
    date_hierarchy = "created_at"
    fields = (
        "endpoint",
        "event",
        "event_type",
        "webhook_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    )
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]
    show_full_result_count = False

    def has_redeliver_permission(self, request):
        return request.user.has_perm("delivery.redeliver_delivery")

    @admin.action(description="Redeliver selected deliveries", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        sent, skipped = 0, 0
        for delivery in queryset:
            try:
                delivery_redeliver(delivery=delivery, actor=request.user)
                sent += 1
            except DeliveryInFlight:
                skipped += 1
        self.message_user(request, f"Queued {sent} for redelivery.")
        if skipped:
            self.message_user(request, f"{skipped} still being tried were left alone.", level=messages.WARNING)
