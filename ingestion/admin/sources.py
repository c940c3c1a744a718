"""Admin for pull sources: the secret is write-only, runs are listed read-only, "Run now" and "Reset breaker"."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from ingestion.models import PullRun, PullSource
from ingestion.services import pull_source_delete, pull_source_enqueue, pull_source_reset_breaker, pull_source_save
from ingestion.services.pulls import check_pull_source
from kernel.admin import ReadOnlyAdmin
from kernel.encryption import fingerprint
from organisations.admin import OrganisationScoped

RUNS_SHOWN = 25


class PullSourceForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    auth_header_value = forms.CharField(
        required=False,
        label="Auth header value",
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: the stored value is never shown. Leave empty to keep it.",
    )
    clear_auth_header_value = forms.BooleanField(required=False, label="Remove the stored auth header value")

    class Meta:
        model = PullSource
        fields = (
            "name",
            "source",
            "url",
            "method",
            "is_enabled",
            "interval_s",
            "max_pages_per_run",
            "auth_header_name",
            "auth_header_value",
            "query_params",
            "records_path",
            "cursor_param",
            "next_cursor_path",
            "cursor_field",
            "cursor",
        )

    def clean(self):
        data = super().clean()
        if data.get("clear_auth_header_value"):
            data["auth_header_value"] = ""
        elif self.instance.pk and not data.get("auth_header_value"):
            data["auth_header_value"] = (
                PullSource.objects.filter(pk=self.instance.pk).values_list("auth_header_value", flat=True).first() or ""
            )
        return data

    def _post_clean(self):
        super()._post_clean()
        try:
            check_pull_source(self.instance)
        except ValidationError as exc:
            self._update_errors(exc)


class PullRunInline(admin.TabularInline):
    model = PullRun
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = f"Latest runs (up to {RUNS_SHOWN})"
    fields = (
        "started_at",
        "finished_at",
        "status",
        "heartbeat_at",
        "pages",
        "fetched",
        "accepted",
        "duplicates",
        "invalid",
        "cursor_before",
        "cursor_after",
        "error",
        "resumes",
        "item_errors",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        object_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if object_id and str(object_id).isdigit():
            latest = PullRun.objects.filter(pull_source_id=object_id).values_list("pk", flat=True)[:RUNS_SHOWN]
            queryset = queryset.filter(pk__in=list(latest))
        return queryset


@admin.register(PullSource)
class PullSourceAdmin(OrganisationScoped, SimpleHistoryAdmin):
    form = PullSourceForm
    list_display = (
        "name",
        "source",
        "url",
        "interval_s",
        "is_enabled",
        "has_secret",
        "cursor",
        "consecutive_failures",
        "backoff_until",
        "last_run",
    )
    list_filter = ("is_enabled", "source")
    search_fields = ("name", "source", "url")
    state_fields = ("consecutive_failures", "backoff_until", "running_since", "created_at", "updated_at")
    readonly_fields = (*state_fields, "has_secret")
    secret_fields = ("auth_header_name", "has_secret", "auth_header_value", "clear_auth_header_value")
    fieldsets = (
        (None, {"fields": ("name", "source", "url", "method", "is_enabled", "interval_s", "max_pages_per_run")}),
        ("Authentication", {"fields": secret_fields}),
        (
            "Response and cursor",
            {"fields": ("query_params", "records_path", "cursor_param", "next_cursor_path", "cursor_field", "cursor")},
        ),
        ("State", {"fields": state_fields}),
    )
    inlines = [PullRunInline]
    actions = ["run_now", "reset_breaker"]

    @admin.display(description="Secret")
    def has_secret(self, obj):
        """Only its last characters: the value is write-only."""
        return fingerprint(obj.auth_header_value)

    @admin.display(description="Last run")
    def last_run(self, obj):
        run = obj.runs.first()
        return f"{run.status} {run.started_at:%Y-%m-%d %H:%M}" if run else "—"

    def save_model(self, request, obj, form, change):
        pull_source_save(source=obj, actor=request.user)

    def delete_model(self, request, obj):
        pull_source_delete(source=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for source in queryset:
            pull_source_delete(source=source, actor=request.user)

    @admin.action(description="Run now", permissions=["change"])
    def run_now(self, request, queryset):
        queued = [s for s in queryset if s.is_enabled]
        for source in queued:
            pull_source_enqueue(source=source, actor=request.user)
        self.message_user(request, f"Queued {len(queued)} run(s).")
        if len(queued) < len(queryset):
            self.message_user(request, "Disabled sources are not run; enable them first.", messages.WARNING)

    @admin.action(description="Reset breaker", permissions=["change"])
    def reset_breaker(self, request, queryset):
        for source in queryset:
            pull_source_reset_breaker(source=source, actor=request.user)
        self.message_user(request, f"Reset {len(queryset)} source(s): the next scheduled run goes ahead.")


@admin.register(PullRun)
class PullRunAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = (
        "pull_source",
        "started_at",
        "status",
        "pages",
        "fetched",
        "accepted",
        "duplicates",
        "invalid",
        "error",
    )
    list_filter = ("status", "pull_source")
    list_select_related = ("pull_source",)
    date_hierarchy = "started_at"
