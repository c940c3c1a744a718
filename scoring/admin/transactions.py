"""Admin for transactions and decisions: read-only (labels come from case outcomes)."""

from django.contrib import admin

from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped
from scoring.models import Decision, ModelVersion, Transaction


class ModelVersionFilter(admin.SimpleListFilter):
    """Filter by model version without loading every version's ONNX artifact (the default filter does)."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        return [(str(pk), f"v{version}") for pk, version in ModelVersion.objects.values_list("pk", "version")]

    def queryset(self, request, queryset):
        return queryset.filter(model_version_id=self.value()) if self.value() else queryset


@admin.register(Transaction)
class TransactionAdmin(OrganisationScoped, admin.ModelAdmin):
    list_display = [
        "external_id",
        "source",
        "account_id",
        "amount",
        "currency",
        "occurred_at",
        "channel",
        "country",
        "label",
        "risk_level",
    ]
    list_filter = ["source", "channel", "label", "country"]
    search_fields = ["=external_id", "=account_id"]
    date_hierarchy = "occurred_at"
    list_select_related = ["decision"]
    show_full_result_count = False  # no COUNT(*) over the whole table on every page
    # No label actions: a transaction's label comes from its case's outcome, through closing and its four-eyes.
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Transaction._meta.concrete_fields]

    def has_add_permission(self, request):
        return False  # transactions arrive through ingestion

    def has_delete_permission(self, request, obj=None):
        return False  # transaction records are retained

    @admin.display(description="risk", ordering="decision__risk_level")
    def risk_level(self, obj):
        decision = getattr(obj, "decision", None)
        return decision.risk_level if decision else "-"


@admin.register(Decision)
class DecisionAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ["transaction", "model_version", "score", "risk_level", "flagged", "created_at"]
    list_filter = ["risk_level", "flagged", ModelVersionFilter]
    raw_id_fields = ["transaction", "model_version"]
    list_select_related = ["transaction", "model_version"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("model_version")
            .defer(*ModelVersion.heavy_fields("model_version"))
        )
