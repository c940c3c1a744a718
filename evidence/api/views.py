"""POST /api/v1/cases/{reference}/export, /api/v1/exports/audit and /transactions; the export records, their
downloads; GET /api/v1/exports/keys. Exports are made by people (no API key), with the permission of the kind
and a session verified with a second factor; the services check both."""

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import Case
from cases.selectors import case_for
from evidence import keys, selectors, services
from evidence.api.serializers import (
    AuditExportSerializer,
    CaseExportSerializer,
    ExportRecordSerializer,
    PublicKeySerializer,
    TransactionExportSerializer,
)
from evidence.models import ExportRecord
from kernel.api.errors import ApiError
from kernel.api.permissions import ScopeOrPermission


def _respond(record: ExportRecord) -> Response:
    if record.status == ExportRecord.Status.FAILED:
        raise ApiError(
            status_code=500,
            code="export_failed",
            message="The bundle could not be written; the failure is recorded with the export.",
            details={"export": record.pk},
        )
    status = 201 if record.status == ExportRecord.Status.DONE else 202
    return Response(ExportRecordSerializer(record).data, status=status)


class CaseExportView(APIView):
    permission_classes = [ScopeOrPermission]
    required_perms = ("cases.view_case", "cases.export_case")

    @extend_schema(
        request=CaseExportSerializer,
        responses={201: ExportRecordSerializer},
        summary="Export a case as a signed evidence bundle (or its SAR package)",
    )
    def post(self, request, reference):
        case = case_for(request.user, reference, queryset=Case.objects.visible_to(request.user))
        if case is None:
            raise exceptions.NotFound("No case with this reference.")
        serializer = CaseExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _respond(services.case_export(case=case, sar=serializer.validated_data["sar"], actor=request.user))


class AuditExportView(APIView):
    permission_classes = [ScopeOrPermission]
    required_perms = ("audit.export_audit",)

    @extend_schema(request=AuditExportSerializer, responses={201: ExportRecordSerializer, 202: ExportRecordSerializer})
    def post(self, request):
        serializer = AuditExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return _respond(services.audit_export(since=data["from"], until=data["to"], actor=request.user))


class TransactionExportView(APIView):
    permission_classes = [ScopeOrPermission]
    required_perms = ("audit.export_audit",)

    @extend_schema(
        request=TransactionExportSerializer, responses={201: ExportRecordSerializer, 202: ExportRecordSerializer}
    )
    def post(self, request):
        serializer = TransactionExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        record = services.transactions_export(
            account_id=data["account_id"],
            since=data["from"],
            until=data["to"],
            flagged=data["flagged"],
            actor=request.user,
        )
        return _respond(record)


class ExportListView(ListAPIView):
    permission_classes = [ScopeOrPermission]
    serializer_class = ExportRecordSerializer

    def get_queryset(self):
        return selectors.exports_visible_to(self.request.user)


class ExportDetailView(APIView):
    permission_classes = [ScopeOrPermission]

    @extend_schema(responses=ExportRecordSerializer)
    def get(self, request, pk):
        return Response(ExportRecordSerializer(_record(request, pk)).data)


class ExportDownloadView(APIView):
    permission_classes = [ScopeOrPermission]

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(description="The signed bundle.")})
    def get(self, request, pk):
        record = _record(request, pk)
        path = services.export_file(record)
        if path is None:
            raise ApiError(
                status_code=409,
                code="export_not_ready",
                message="This export has no bundle to download (not finished, failed, or removed).",
                details={"status": record.status},
            )
        services.export_downloaded(record=record, actor=request.user)
        return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip")


class SigningKeysView(APIView):
    """The public keys that verify bundles: the current one and every retired one."""

    permission_classes = [ScopeOrPermission]
    required_scope = "read"

    @extend_schema(responses=inline_serializer("SigningKeys", {"keys": PublicKeySerializer(many=True)}))
    def get(self, request):
        return Response({"keys": [key.as_dict() for key in keys.public_keys()]})


def _record(request, pk: int) -> ExportRecord:
    record = selectors.exports_visible_to(request.user).filter(pk=pk).first()
    if record is None:
        raise exceptions.NotFound("No export with this id.")
    return record
