"""Serializers that document the ingest API in OpenAPI; validation itself runs in ingestion.validation."""

from rest_framework import serializers


class IngestRequestSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=128, help_text="Your id; unique per source.")
    account_id = serializers.CharField(max_length=128)
    amount = serializers.DecimalField(max_digits=20, decimal_places=4, help_text="Negative for refunds.")
    currency = serializers.CharField(min_length=3, max_length=3, help_text="ISO 4217, e.g. EUR.")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with offset or Z.")
    merchant_id = serializers.CharField(required=False)
    merchant_category = serializers.RegexField(r"^[0-9]{4}$", required=False, help_text="MCC, 4 digits.")
    country = serializers.CharField(required=False, min_length=2, max_length=2, help_text="ISO 3166 alpha-2.")
    channel = serializers.CharField(required=False, help_text="card_present, online, wire, ach, atm, ...")
    metadata = serializers.DictField(required=False, help_text="Free-form; unknown top-level fields land here.")


class ItemErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class DecisionSummarySerializer(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    external_id = serializers.CharField()
    score = serializers.FloatField()
    risk_level = serializers.ChoiceField(choices=["LOW", "MEDIUM", "HIGH", "CRITICAL"])
    flagged = serializers.BooleanField()
    model_version = serializers.IntegerField()
    case_reference = serializers.CharField(allow_null=True)


class DuplicateSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    external_id = serializers.CharField()
    duplicate_of_index = serializers.IntegerField(required=False, help_text="Set when repeated in the same batch.")
    decision = serializers.DictField(required=False, help_text="The stored decision, when stored before.")


class IngestResponseSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = DuplicateSerializer(many=True)
    flagged = serializers.IntegerField()
    errors = ItemErrorSerializer(many=True)
    decisions = DecisionSummarySerializer(many=True)
