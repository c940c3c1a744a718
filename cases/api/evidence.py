"""Attachments over the API: GET|POST /api/v1/cases/{reference}/attachments/ and
GET /api/v1/cases/{reference}/attachments/{id}/download. The same services and selectors as the case page.

An upload is multipart (`file`, repeatable; `body`, an optional comment carrying the files); each file is
hashed while it streams in. Writes are made by people; API keys may list a case's attachments only.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors
from cases.evidence_views import download_response
from cases.models import Attachment, Case
from cases.services.attachments import attachment_open, attachments_add, refuse_oversized
from cases.uploads import use_hashing_uploads
from kernel.api.permissions import ScopeOrPermission, api_key_of


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = [
            "id",
            "comment",
            "original_name",
            "size_bytes",
            "sha256",
            "declared_type",
            "sniffed_type",
            "scan_status",
            "scan_detail",
            "uploaded_by",
            "uploaded_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment) -> str:
        return f"/api/v1/cases/{attachment.case.reference}/attachments/{attachment.pk}/download"


class CaseScoped(APIView):
    permission_classes = [ScopeOrPermission]

    @property
    def required_scope(self):
        return "read" if self.request.method in SAFE_METHODS else None

    def case(self, reference: str) -> Case:
        key = api_key_of(self.request)
        scope = selectors.cases_for_api_key(key) if key is not None else Case.objects.visible_to(self.request.user)
        case = selectors.case_for(self.request.user, reference, queryset=scope)
        if case is None:
            raise exceptions.NotFound("No case with this reference.")
        return case


class CaseAttachmentsView(CaseScoped):
    parser_classes = [MultiPartParser]
    required_perms = {"GET": ("cases.view_attachment",), "POST": ("cases.add_attachment", "cases.work_case")}

    def initialize_request(self, request, *args, **kwargs):
        if request.method == "POST":
            self.upload_handler = use_hashing_uploads(request)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(responses=AttachmentSerializer(many=True))
    def get(self, request, reference):
        case = self.case(reference)
        return Response(AttachmentSerializer(selectors.attachments_of(case), many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "AttachmentUpload",
                {"file": serializers.ListField(child=serializers.FileField()), "body": serializers.CharField()},
            )
        },
        responses={201: AttachmentSerializer(many=True)},
    )
    def post(self, request, reference):
        case = self.case(reference)
        files = request.FILES.getlist("file")  # reads the body: the handler hashes (or stops) each file
        refuse_oversized(self.upload_handler.refused)
        added = attachments_add(case=case, files=files, actor=request.user, body=request.data.get("body", ""))
        return Response(AttachmentSerializer(added, many=True).data, status=201)


class AttachmentDownloadView(CaseScoped):
    required_perms = ("cases.view_attachment",)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, reference, attachment_id):
        case = self.case(reference)
        attachment = selectors.attachment_of(case, attachment_id)
        if attachment is None:
            raise exceptions.NotFound("No such attachment on this case.")
        return download_response(attachment, attachment_open(attachment=attachment, actor=request.user))
