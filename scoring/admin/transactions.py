"""Admin for transactions and decisions: read-only, labelled through record_labels."""

from django.contrib import admin, messages

from kernel.admin import ReadOnlyAdmin
from scoring.models import Decision, Label, ModelVersion, Transaction
from scoring.services import record_labels


class ModelVersionFilter(admin.SimpleListFilter):
    """Filter by model version without loading every version's ONNX artifact (the default filter does)."""

    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        return [(str(pk), f"v{version}") for pk, version in ModelVersion.objects.values_list("pk", "version")]

    def queryset(self, request, queryset):
        return queryset.filter(model_version_id=self.value()) if self.value() else queryset


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
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
    actions = ["label_fraud", "label_legit"]

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

    @admin.action(description="Label selected transactions as fraud", permissions=["change"])
    def label_fraud(self, request, queryset):
        self._label(request, queryset, Label.FRAUD)

    @admin.action(description="Label selected transactions as legitimate", permissions=["change"])
    def label_legit(self, request, queryset):
        self._label(request, queryset, Label.LEGIT)

    def _label(self, request, queryset, label):
        ids = list(queryset.values_list("pk", flat=True))
        count = record_labels(transaction_ids=ids, label=label, actor=request.user)
        self.message_user(request, f"Labelled {count} transaction(s) as {label.label.lower()}.", messages.SUCCESS)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
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
