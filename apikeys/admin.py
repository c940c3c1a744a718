"""Admin for API keys: created with the secret shown once, revoked by action."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.services import api_key_create, api_key_revoke, api_key_update
from apikeys.services.keys import EDITABLE_FIELDS, check_api_key_fields
from organisations.admin import OrganisationScoped


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "source", "scopes", "owner", "expires_at", "rate_limit")
        help_texts = {"scopes": f"A JSON list of: {', '.join(ApiKey.Scope.values)}"}

    def clean_scopes(self):
        scopes = self.cleaned_data["scopes"]
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise forms.ValidationError('Scopes are a JSON list of names, e.g. ["ingest", "read"].')
        try:
            check_api_key_fields(scopes=scopes)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return scopes


@admin.register(ApiKey)
class ApiKeyAdmin(OrganisationScoped, admin.ModelAdmin):
    form = ApiKeyForm
    list_display = (
        "name",
        "source",
        "prefix",
        "scopes",
        "owner",
        "created_at",
        "expires_at",
        "rate_limit",
        "last_used_at",
        "is_active",
    )
    list_filter = ("revoked_at", "source")
    search_fields = ("name", "prefix", "source")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "source", "scopes", "owner", "expires_at", "rate_limit", *readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # The source is fixed once a key exists: duplicates are detected per source.
        return (*self.readonly_fields, "source") if obj is not None else self.readonly_fields

    actions = ["revoke"]

    @admin.display(boolean=True)
    def is_active(self, obj):
        return obj.is_active

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("apikeys.manage_keys") and super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        return request.user.has_perm("apikeys.manage_keys") and super().has_add_permission(request)

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in EDITABLE_FIELDS if name in form.changed_data}
            api_key_update(key=obj, actor=request.user, **changes)
            return
        key, raw = api_key_create(
            organisation=request.organisation,
            name=obj.name,
            source=obj.source,
            scopes=obj.scopes,
            owner=obj.owner,
            expires_at=obj.expires_at,
            rate_limit=obj.rate_limit,
            actor=request.user,
        )
        obj.pk = key.pk
        obj.prefix, obj.key_hash = key.prefix, key.key_hash
        messages.warning(request, f"Copy this key now, it is not shown again: {raw}")

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key, actor=request.user)
        self.message_user(request, f"Revoked at {timezone.now():%Y-%m-%d %H:%M} UTC.")
