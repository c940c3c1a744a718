"""A case's evidence over the API, with the same services and selectors as the case page:
GET|POST /api/v1/cases/{reference}/attachments/, GET …/attachments/{id}/download, GET …/checklist/,
POST …/checklist/{item_id}/tick, POST …/decision-feedback, POST …/merge; POST /api/v1/cases/bulk; and the
alerts duplicate suppression held back: GET /api/v1/suppressed-alerts/, POST …/{id}/dismiss|open-case.

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
from cases.models import Attachment, Case, ChecklistItem, DecisionReview, SuppressedAlert, Team
from cases.services.attachments import attachment_open, attachments_add, refuse_oversized
from cases.services.checklists import checklist_tick, checklists_for
from cases.services.merging import BULK_ACTIONS, MAX_BULK_CASES, case_merge, cases_bulk_change
from cases.services.reviews import decision_review
from cases.services.suppressed_alerts import (
    suppressed_alert_dismiss,
    suppressed_alert_open_case,
    suppressed_alerts_visible_to,
)
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


class ChecklistView(CaseScoped):
    required_perms = ("cases.view_checklisttick",)

    @extend_schema(
        responses=inline_serializer(
            "ClosingChecklistState",
            {
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "outcome": serializers.CharField(),
                "min_severity": serializers.CharField(),
                "complete": serializers.BooleanField(),
                "items": serializers.ListField(child=serializers.DictField()),
            },
            many=True,
        )
    )
    def get(self, request, reference):
        case = self.case(reference)
        return Response([_checklist_data(state) for state in checklists_for(case)])


def _checklist_data(state) -> dict:
    return {
        "id": state.checklist.pk,
        "name": state.checklist.name,
        "outcome": state.checklist.outcome,
        "min_severity": state.checklist.min_severity,
        "complete": not state.missing,
        "items": [
            {
                "id": item.pk,
                "text": item.text,
                "is_required": item.is_required,
                "ticked_by": tick.ticked_by.get_username() if tick else None,
                "ticked_at": tick.ticked_at if tick else None,
            }
            for item, tick in state.items
        ],
    }


class ChecklistTickView(CaseScoped):
    required_perms = ("cases.add_checklisttick", "cases.work_case")

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, reference, item_id):
        case = self.case(reference)
        item = ChecklistItem.objects.select_related("checklist").filter(pk=item_id).first()
        if item is None:
            raise exceptions.NotFound("No such checklist item.")
        tick = checklist_tick(case=case, item=item, actor=request.user)
        return Response(
            {"item": item.pk, "text": item.text, "ticked_by": request.user.get_username(), "ticked_at": tick.ticked_at},
            status=201,
        )


class DecisionReviewSerializer(serializers.ModelSerializer):
    transaction = serializers.IntegerField(source="transaction_id")
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DecisionReview
        fields = ["id", "transaction", "verdict", "reason", "reviewed_by", "reviewed_at"]
        read_only_fields = ["id", "reviewed_by", "reviewed_at"]


class DecisionFeedbackView(CaseScoped):
    required_perms = ("cases.add_decisionreview", "cases.work_case")

    @extend_schema(request=DecisionReviewSerializer, responses={201: DecisionReviewSerializer})
    def post(self, request, reference):
        case = self.case(reference)
        serializer = DecisionReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        review = decision_review(
            case=case,
            transaction_id=data["transaction_id"],
            verdict=data["verdict"],
            reason=data["reason"],
            actor=request.user,
        )
        return Response(DecisionReviewSerializer(review).data, status=201)


class MergeSerializer(serializers.Serializer):
    duplicates = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=MAX_BULK_CASES)
    reason = serializers.CharField()


class CaseMergeView(CaseScoped):
    required_perms = ("cases.merge_case", "cases.work_case")

    @extend_schema(request=MergeSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, reference):
        survivor = self.case(reference)
        data = _valid(MergeSerializer, request)
        duplicates = _visible_cases(request.user, data["duplicates"])
        case_merge(survivor=survivor, duplicates=duplicates, reason=data["reason"], actor=request.user)
        return Response({"reference": survivor.reference, "merged": [c.reference for c in duplicates]})


class BulkSerializer(serializers.Serializer):
    references = serializers.ListField(child=serializers.CharField(), min_length=1, max_length=MAX_BULK_CASES)
    action = serializers.ChoiceField(choices=BULK_ACTIONS)
    reason = serializers.CharField()
    status = serializers.CharField(required=False, default="")
    team = serializers.CharField(required=False, default="")


class CaseBulkView(CaseScoped):
    required_perms = ("cases.bulk_change_case",)

    @extend_schema(request=BulkSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        data = _valid(BulkSerializer, request)
        cases = _visible_cases(request.user, data["references"])
        team = Team.objects.filter(slug=data["team"]).first() if data["team"] else None
        if data["team"] and team is None:
            raise serializers.ValidationError({"team": "Unknown team."})
        result = cases_bulk_change(
            cases=cases,
            action=data["action"],
            reason=data["reason"],
            status=data["status"],
            team=team,
            actor=request.user,
        )
        return Response(result)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _visible_cases(user, references: list[str]) -> list[Case]:
    """The named cases, each one the user may see: an unknown or invisible reference is a 404."""
    cases = {c.reference: c for c in Case.objects.visible_to(user).filter(reference__in=references)}
    missing = [r for r in dict.fromkeys(references) if r not in cases]
    if missing:
        raise exceptions.NotFound(f"No case with the reference {missing[0]}.")
    return [cases[r] for r in dict.fromkeys(references)]


class SuppressedAlertSerializer(serializers.ModelSerializer):
    previous_case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    opened_case = serializers.SlugRelatedField(slug_field="reference", read_only=True, allow_null=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = SuppressedAlert
        fields = [
            "id",
            "transaction",
            "account_id",
            "previous_case",
            "severity",
            "created_at",
            "status",
            "reviewed_by",
            "reviewed_at",
            "note",
            "opened_case",
        ]
        read_only_fields = fields


class SuppressedAlertsView(CaseScoped):
    required_perms = ("cases.view_suppressedalert",)

    @extend_schema(responses=SuppressedAlertSerializer(many=True))
    def get(self, request):
        alerts = suppressed_alerts_visible_to(request.user).select_related(
            "previous_case", "opened_case", "reviewed_by"
        )
        status = request.query_params.get("status", SuppressedAlert.Status.PENDING)
        return Response(SuppressedAlertSerializer(alerts.filter(status=status)[:500], many=True).data)


class ReviewNoteSerializer(serializers.Serializer):
    note = serializers.CharField()


class SuppressedAlertReviewView(CaseScoped):
    required_perms = ("cases.review_suppressed", "cases.work_case")

    @extend_schema(request=ReviewNoteSerializer, responses={200: SuppressedAlertSerializer})
    def post(self, request, alert_id, review):
        alert = suppressed_alerts_visible_to(request.user).select_related("previous_case").filter(pk=alert_id).first()
        if alert is None:
            raise exceptions.NotFound("No such alert.")
        note = _valid(ReviewNoteSerializer, request)["note"]
        review_alert = suppressed_alert_dismiss if review == "dismiss" else suppressed_alert_open_case
        review_alert(alert=alert, note=note, actor=request.user)
        alert.refresh_from_db()
        return Response(SuppressedAlertSerializer(alert).data)
