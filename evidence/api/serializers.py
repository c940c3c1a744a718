"""Export API shapes."""

from django.urls import reverse
from rest_framework import serializers

from evidence.models import ExportRecord


class ExportRecordSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="Set once the bundle is ready.")

    class Meta:
        model = ExportRecord
        fields = [
            "id",
            "kind",
            "subject",
            "parameters",
            "actor",
            "status",
            "percent",
            "total_items",
            "processed_items",
            "created_at",
            "finished_at",
            "sha256",
            "size_bytes",
            "key_id",
            "failure",
            "status_url",
            "download_url",
        ]
        read_only_fields = fields

    def get_status_url(self, record) -> str:
        return reverse("api-export-detail", args=[record.pk])

    def get_download_url(self, record) -> str | None:
        if record.status != ExportRecord.Status.DONE:
            return None
        return reverse("api-export-download", args=[record.pk])


class CaseExportSerializer(serializers.Serializer):
    sar = serializers.BooleanField(
        default=False, help_text="The SAR package: the case bundle plus sar.json (a case closed as sar_filed)."
    )


class AuditExportSerializer(serializers.Serializer):
    to = serializers.DateTimeField(help_text="Exclusive.")

    def validate(self, data):
        if data["from"] >= data["to"]:
            raise serializers.ValidationError({"to": "The end of the range comes after its start."})
        return data

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(help_text="Inclusive.")  # a Python keyword, so added here
        return fields


class TransactionExportSerializer(serializers.Serializer):
    account_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=128)
    to = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="Exclusive.")
    flagged = serializers.BooleanField(required=False, allow_null=True, default=None)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False, allow_null=True, default=None)
        return fields

    def validate(self, data):
        if data.get("from") and data.get("to") and data["from"] >= data["to"]:
            raise serializers.ValidationError({"to": "The end of the range comes after its start."})
        return data


class PublicKeySerializer(serializers.Serializer):
    key_id = serializers.CharField(help_text="SHA-256 (hex) of the raw 32-byte Ed25519 public key.")
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="PEM (SubjectPublicKeyInfo).")
    status = serializers.ChoiceField(choices=["current", "retired"])
    created_at = serializers.CharField()
    retired_at = serializers.CharField(allow_null=True)
