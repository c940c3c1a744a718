"""Read shapes of the scoring API (responses) and the small write payloads."""

from rest_framework import serializers

from scoring.models import Decision, DriftReport, Experiment, ModelVersion, PromotionRequest, Transaction


class DecisionSerializer(serializers.ModelSerializer):
    model_version = serializers.IntegerField(source="model_version.version")

    class Meta:
        model = Decision
        fields = ["score", "risk_level", "flagged", "rule_hits", "arm", "model_version", "latency_ms", "created_at"]


class TransactionSerializer(serializers.ModelSerializer):
    decision = DecisionSerializer(read_only=True)
    has_explanation = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = [
            "id", "source", "external_id", "account_id", "amount", "currency", "occurred_at", "merchant_id",
            "merchant_category", "country", "channel", "metadata", "received_at", "label", "decision",
            "has_explanation",
        ]  # fmt: skip

    def get_has_explanation(self, obj) -> bool:
        decision = getattr(obj, "decision", None)
        return bool(decision and decision.explanation is not None)


class ContributionSerializer(serializers.Serializer):
    feature = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField()
    contribution = serializers.FloatField(help_text="> 0 pushes towards anomalous.")
    text = serializers.CharField()


class ExplanationSerializer(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    model_version = serializers.IntegerField()
    method = serializers.CharField()
    base_value = serializers.FloatField()
    contributions = ContributionSerializer(many=True)


class ModelVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField(allow_null=True)
    promoted_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = ModelVersion
        fields = [
            "id", "version", "status", "algorithm", "artifact_sha256", "feature_names", "params", "thresholds",
            "metrics", "training_window_start", "training_window_end", "training_size", "created_at", "created_by",
            "promoted_at", "promoted_by",
        ]  # fmt: skip


class PromotionRequestSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="model_version.version", read_only=True)
    requested_by = serializers.StringRelatedField()
    decided_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = PromotionRequest
        fields = ["id", "version", "status", "reason", "requested_by", "requested_at", "decided_by", "decided_at",
                  "decision_note"]  # fmt: skip


class DriftReportSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="model_version.version")

    class Meta:
        model = DriftReport
        fields = ["id", "version", "created_at", "window_size", "window_start", "window_end", "is_drifted",
                  "drifted_features", "retraining_started", "results", "alert_rate", "model_alert_rate",
                  "alert_budget"]  # fmt: skip


class DriftStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["none", "stable", "drifted"], help_text="As of the latest report.")
    latest = DriftReportSerializer(allow_null=True)
    history = DriftReportSerializer(many=True, help_text="The recent reports, newest first.")


class ExperimentSerializer(serializers.ModelSerializer):
    champion = serializers.IntegerField(source="champion.version")
    challenger = serializers.IntegerField(source="challenger.version")
    results = serializers.SerializerMethodField()

    class Meta:
        model = Experiment
        fields = ["id", "name", "champion", "challenger", "challenger_share", "is_active", "started_at", "ended_at",
                  "results"]  # fmt: skip

    def get_results(self, obj) -> dict:
        from scoring.services.experiments import experiment_results

        return experiment_results(experiment=obj)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class PromoteSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ExperimentStartSerializer(serializers.Serializer):
    challenger_version = serializers.IntegerField()
    challenger_share = serializers.FloatField(min_value=0.01, max_value=0.99)
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
