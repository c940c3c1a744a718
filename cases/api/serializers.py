"""Case API shapes."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.models import Approval, Case, CaseEvent, Comment, Priority, SarDraft, Severity


class CaseSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    outcome = serializers.ChoiceField(
        choices=Case.Outcome.choices, allow_blank=True, read_only=True, help_text="Empty while the case is open."
    )
    transaction_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Case
        fields = [
            "reference",
            "title",
            "account_id",
            "status",
            "severity",
            "priority",
            "team",
            "assignee",
            "sla_due_at",
            "opened_at",
            "updated_at",
            "closed_at",
            "outcome",
            "rationale",
            "legal_hold",
            "transaction_count",
            "version",
            "origin",
            "description",
            "sla_warned_at",
            "sla_breached_at",
        ]
        read_only_fields = fields


class CaseEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CaseEvent
        fields = ["kind", "actor", "data", "created_at"]


class ApprovalSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "status",
            "outcome",
            "rationale",
            "reason",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class CaseDetailSerializer(CaseSerializer):
    transactions = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    pending_approval = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "transactions", "timeline", "pending_approval"]
        read_only_fields = fields

    def get_transactions(self, case) -> list[dict]:
        return [
            {
                "transaction_id": link.transaction_id,
                "external_id": link.transaction.external_id,
                "amount": str(link.transaction.amount),
                "currency": link.transaction.currency,
                "occurred_at": link.transaction.occurred_at,
                "score": getattr(getattr(link.transaction, "decision", None), "score", None),
                "risk_level": getattr(getattr(link.transaction, "decision", None), "risk_level", None),
                "rule_hits": getattr(getattr(link.transaction, "decision", None), "rule_hits", []),
            }
            for link in self.context["links"]
        ]

    def get_timeline(self, case) -> list[dict]:
        return CaseEventSerializer([entry.event for entry in self.context["timeline"]], many=True).data

    @extend_schema_field(ApprovalSerializer(allow_null=True))
    def get_pending_approval(self, case):
        approval = self.context.get("approval")
        return ApprovalSerializer(approval).data if approval else None


class VersionedChangeSerializer(serializers.Serializer):
    """A change of a case, decided on the version the caller read."""

    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="The case's version this change was made on; a stale one is a 409 (stale_version).",
    )


class CaseUpdateSerializer(VersionedChangeSerializer):
    title = serializers.CharField(max_length=200, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)


class AssignSerializer(VersionedChangeSerializer):
    assignee = serializers.CharField(allow_null=True, help_text="A username; null unassigns.")


class TransitionSerializer(VersionedChangeSerializer):
    status = serializers.ChoiceField(choices=Case.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class EscalateSerializer(VersionedChangeSerializer):
    reason = serializers.CharField()
    team = serializers.SlugField(required=False, allow_null=True, default=None)
    assignee = serializers.CharField(required=False, allow_null=True, default=None)


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    mentions = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "created_at", "mentions"]
        read_only_fields = ["id", "author", "created_at", "mentions"]

    def get_mentions(self, comment) -> list[str]:
        return [user.get_username() for user in comment.mentioned.all()]


class CloseSerializer(VersionedChangeSerializer):
    outcome = serializers.ChoiceField(choices=Case.Outcome.choices)
    rationale = serializers.CharField()


class DecideSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class SarDraftSerializer(serializers.ModelSerializer):
    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    narrative_edited_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = SarDraft
        fields = [
            "case",
            "status",
            "subjects",
            "activity_start",
            "activity_end",
            "totals",
            "transaction_count",
            "typologies",
            "rule_evidence",
            "model_evidence",
            "narrative",
            "narrative_edited_by",
            "narrative_edited_at",
            "created_at",
            "approved_at",
        ]
        read_only_fields = fields


class SarDraftUpdateSerializer(serializers.Serializer):
    narrative = serializers.CharField(max_length=20000)
    typologies = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, allow_null=True, default=None, max_length=50
    )


class LegalHoldSerializer(serializers.Serializer):
    hold = serializers.BooleanField(help_text="True places the legal hold, false releases it.")
    reason = serializers.CharField(max_length=500)


class TransactionFoundSerializer(serializers.Serializer):
    """One transaction of a search: what it is, what the model decided, and the case holding it."""

    id = serializers.IntegerField()
    source = serializers.CharField()
    external_id = serializers.CharField()
    account_id = serializers.CharField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=4)
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    merchant_id = serializers.CharField()
    merchant_category = serializers.CharField()
    country = serializers.CharField()
    channel = serializers.CharField()
    flagged = serializers.BooleanField(source="decision.flagged", allow_null=True, default=None)
    risk_level = serializers.CharField(source="decision.risk_level", allow_null=True, default=None)
    score = serializers.FloatField(source="decision.score", allow_null=True, default=None)
    case = serializers.SerializerMethodField(help_text="Reference of a case you may see that holds it, or null.")

    def get_case(self, obj) -> str | None:
        return self.context["case_of"].get(obj.pk)


class TransactionSearchPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="The URL of the next (older) page, or null.")
    results = TransactionFoundSerializer(many=True)


class ManualCaseSerializer(serializers.Serializer):
    account_id = serializers.CharField(max_length=128)
    description = serializers.CharField(help_text="Why the case is opened: the tip, the call, the request.")
    severity = serializers.ChoiceField(choices=Severity.choices)
    origin = serializers.ChoiceField(choices=[c for c in Case.Origin.choices if c[0] != Case.Origin.FLAGGED])
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    team = serializers.SlugField(required=False, allow_null=True, default=None, help_text="A team's slug.")
    transaction_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=500
    )
    assign_to_self = serializers.BooleanField(required=False, default=True)


class AvailabilitySerializer(serializers.Serializer):
    is_available = serializers.BooleanField()
    out_of_office_until = serializers.DateTimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
