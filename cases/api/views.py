"""GET /api/v1/cases/ and /api/v1/cases/{reference}/, PATCH, and the actions under it.

Same FilterSet, selectors and services as the pages. API keys (scope "read") may read the cases of
their own source; every write is made by a person, with the same permissions as in the workspace.
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals.services import approval_decide
from cases import selectors, services
from cases.api.investigations import InvestigationQueuedSerializer
from cases.api.serializers import (
    AssignSerializer,
    AvailabilitySerializer,
    CaseDetailSerializer,
    CaseSerializer,
    CaseUpdateSerializer,
    CloseSerializer,
    CommentSerializer,
    DecideSerializer,
    EscalateSerializer,
    LegalHoldSerializer,
    ManualCaseSerializer,
    SarDraftSerializer,
    SarDraftUpdateSerializer,
    TransactionFoundSerializer,
    TransactionSearchPageSerializer,
    TransitionSerializer,
)
from cases.filtersets import CaseFilterSet
from cases.models import Availability, Case, Team
from cases.services.investigations import investigation_request
from kernel.api.errors import ApiError
from kernel.api.permissions import ScopeOrPermission, api_key_of
from kernel.errors import Conflict
from organisations.selectors import members
from scoring.models import Transaction

ACTION_PERMS = {
    "list": ("cases.view_case",),
    "create": ("cases.work_case",),
    "retrieve": ("cases.view_case",),
    "partial_update": ("cases.work_case",),
    "assign": ("cases.work_case",),
    "transition": ("cases.work_case",),
    "escalate": ("cases.escalate_case",),
    "comment": ("cases.work_case",),
    "close": ("cases.propose_closure",),
    "approve": ("cases.approve_closure",),
    "reject": ("cases.approve_closure",),
    "sar": {"GET": ("cases.view_case",), "PATCH": ("cases.work_case",)},
    "legal_hold": ("cases.set_legal_hold",),
    "investigations": ("cases.request_investigation",),
}


class CaseViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [ScopeOrPermission]
    lookup_field = "reference"
    lookup_value_regex = r"[^/]+"
    filterset_class = CaseFilterSet
    serializer_class = CaseSerializer

    @property
    def required_scope(self):
        return "read" if self.request.method in SAFE_METHODS else None

    @property
    def required_perms(self):
        return ACTION_PERMS.get(self.action, ("cases.view_case",))

    def get_queryset(self):
        key = api_key_of(self.request)
        base = selectors.cases_for_api_key(key) if key is not None else Case.objects.visible_to(self.request.user)
        return base.select_related("team", "assignee")

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        selectors.attach_transaction_counts(page)
        return self.get_paginated_response(CaseSerializer(page, many=True).data)

    @extend_schema(request=ManualCaseSerializer, responses={201: CaseSerializer})
    def create(self, request):
        """Open a case by hand (a tip, a call, a request), with transactions found by the search."""
        serializer = ManualCaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team = None
        if data.pop("team"):
            team = Team.objects.filter(slug=serializer.validated_data["team"]).first()
            if team is None:
                raise ApiError(status_code=400, code="invalid", message="Unknown team.", details={"team": "unknown"})
        case = services.case_open_manual(actor=request.user, team=team, **data)
        self._case = case
        return Response(self._case_response(case).data, status=201)

    def get_case(self) -> Case:
        """The case the URL names, read once per request (a 404 before any check of the body)."""
        if getattr(self, "_case", None) is None:
            key = api_key_of(self.request)
            scope = selectors.cases_for_api_key(key) if key is not None else Case.objects.visible_to(self.request.user)
            case = selectors.case_for(self.request.user, self.kwargs["reference"], queryset=scope)
            if case is None:
                raise exceptions.NotFound("No case with this reference.")
            self._case = case
        return self._case

    def retrieve(self, request, reference=None):
        case = self.get_case()
        links = selectors.case_transactions(case)
        context = {
            "links": links,
            "timeline": selectors.timeline(case),
            "approval": selectors.pending_approval(case),
            "request": request,
        }
        selectors.attach_transaction_counts([case])
        return Response(CaseDetailSerializer(case, context=context).data)

    @extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer)
    def partial_update(self, request, reference=None):
        data = self._valid(CaseUpdateSerializer, request)
        return self._done(lambda case: services.case_update(case=case, actor=request.user, **data))

    @extend_schema(request=AssignSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, reference=None):
        data = self._valid(AssignSerializer, request)
        return self._done(
            lambda case: services.case_assign(
                case=case, assignee=_user(data["assignee"]), actor=request.user, version=data["version"]
            )
        )

    @extend_schema(request=TransitionSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, reference=None):
        data = self._valid(TransitionSerializer, request)
        return self._done(lambda case: services.case_transition(case=case, actor=request.user, **data))

    @extend_schema(request=EscalateSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request, reference=None):
        data = self._valid(EscalateSerializer, request)
        team = None
        if data["team"]:
            team = Team.objects.filter(slug=data["team"]).first()
            if team is None:
                raise ApiError(status_code=400, code="invalid", message="Unknown team.", details={"team": data["team"]})
        return self._done(
            lambda case: services.case_escalate(
                case=case,
                actor=request.user,
                reason=data["reason"],
                team=team,
                assignee=_user(data["assignee"]),
                version=data["version"],
            )
        )

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    @action(detail=True, methods=["post"])
    def comment(self, request, reference=None):
        data = self._valid(CommentSerializer, request)
        case = self.get_case()
        comment = services.case_comment(case=case, body=data["body"], author=request.user)
        return Response(CommentSerializer(comment).data, status=201)

    @extend_schema(request=CloseSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, reference=None):
        data = self._valid(CloseSerializer, request)
        return self._done(lambda case: services.case_close(case=case, actor=request.user, **data))

    @extend_schema(request=DecideSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, reference=None):
        return self._decide(request, approve=True)

    @extend_schema(request=DecideSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, reference=None):
        return self._decide(request, approve=False)

    @extend_schema(request=LegalHoldSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"], url_path="legal-hold")
    def legal_hold(self, request, reference=None):
        """Place the case under legal hold (`hold`: true) or release it, with a reason; compliance only."""
        data = self._valid(LegalHoldSerializer, request)
        return self._done(lambda case: services.case_legal_hold(case=case, actor=request.user, **data))

    @extend_schema(methods=["GET"], responses=SarDraftSerializer)
    @extend_schema(methods=["PATCH"], request=SarDraftUpdateSerializer, responses=SarDraftSerializer)
    @action(detail=True, methods=["get", "patch"])
    def sar(self, request, reference=None):
        """The SAR draft of a case proposed or closed as SAR filed; PATCH edits narrative and typologies."""
        if api_key_of(request) is not None:
            raise exceptions.PermissionDenied("SAR drafts are read by people, not by API keys.")
        case = self.get_case()
        draft = getattr(case, "sar_draft", None)
        if draft is None:
            raise exceptions.NotFound("This case has no SAR draft.")
        if request.method == "PATCH":
            data = self._valid(SarDraftUpdateSerializer, request)
            draft = services.sar_draft_update(draft=draft, actor=request.user, **data)
        return Response(SarDraftSerializer(draft).data)

    @extend_schema(
        request=None,
        responses={202: InvestigationQueuedSerializer},
        description="Ask the agent to investigate the case; it runs in a task. Read the result at "
        "/api/v1/investigations/{id}.",
    )
    def investigations(self, request, reference=None):
        investigation = investigation_request(case=self.get_case(), actor=request.user)
        investigation.refresh_from_db(fields=["status"])
        return Response({"id": investigation.pk, "status": investigation.status}, status=202)

    def _decide(self, request, *, approve: bool):
        data = self._valid(DecideSerializer, request)
        case = self.get_case()
        approval = selectors.pending_approval(case)
        if approval is None:
            raise Conflict("This case has no pending approval.", code="no_pending_approval")
        approval_decide(approval=approval, actor=request.user, approve=approve, note=data["comment"])
        return self._case_response(case)

    def _valid(self, serializer_class, request) -> dict:
        self.get_case()  # an unknown or invisible case is a 404, whatever the body says
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _done(self, func):
        case = self.get_case()
        func(case)
        return self._case_response(case)

    def _case_response(self, case: Case) -> Response:
        fresh = self.get_queryset().get(pk=case.pk)
        selectors.attach_transaction_counts([fresh])
        return Response(CaseSerializer(fresh).data)


def _user(username):
    if not username:
        return None
    user = members().filter(username=username, is_active=True).first()
    if user is None:
        raise ApiError(status_code=400, code="invalid", message="Unknown user.", details={"user": username})
    return user


class TransactionSearchView(APIView):
    """GET /api/v1/transactions/?account=&from=&to=&flagged=&cursor=: one account's transactions, newest
    first, a page at a time (follow `next`). People see what their teams' cases and the live feed let them
    see; an API key its own source's."""

    permission_classes = [ScopeOrPermission]
    required_scope = "read"
    required_perms = ("scoring.view_transaction",)

    @extend_schema(
        operation_id="api_v1_transactions_search",
        parameters=[
            OpenApiParameter("account", str, required=True, description="The account id, exactly."),
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="Occurred at or after."),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="Occurred before."),
            OpenApiParameter("flagged", bool, description="true: flagged only; false: not flagged."),
            OpenApiParameter("cursor", str, description="From a previous page's `next`."),
            OpenApiParameter("limit", int, description="Rows per page, at most 200."),
        ],
        responses=TransactionSearchPageSerializer,
    )
    def get(self, request):
        params = request.query_params
        try:
            limit = min(max(int(params.get("limit", settings.TRANSACTION_SEARCH_PAGE_SIZE)), 1), 200)
        except ValueError:
            raise ApiError(
                status_code=400, code="invalid", message="limit is a number.", details={"limit": "invalid"}
            ) from None
        key = api_key_of(request)
        queryset = Transaction.objects.filter(source=key.source) if key is not None else None
        try:
            page = selectors.transaction_search(
                request.user, params, cursor=params.get("cursor"), limit=limit, queryset=queryset
            )
        except ValueError:
            raise ApiError(
                status_code=400, code="invalid", message="Not a valid cursor.", details={"cursor": "invalid"}
            ) from None
        if page.filterset.errors:
            raise ApiError(
                status_code=400,
                code="invalid",
                message="The search is not valid.",
                details={field: [str(e) for e in errors] for field, errors in page.filterset.errors.items()},
            )
        next_url = None
        if page.next_cursor:
            query = params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        results = TransactionFoundSerializer(page.rows, many=True, context={"case_of": page.case_of}).data
        return Response({"next": next_url, "results": results})


class AvailabilityView(APIView):
    """GET|PUT /api/v1/availability/: whether the caller takes automatically assigned cases now."""

    permission_classes = [ScopeOrPermission]
    required_scope = None
    required_perms = ("cases.work_case",)

    @extend_schema(responses=AvailabilitySerializer)
    def get(self, request):
        row = Availability.objects.filter(user=request.user).first()
        data = {"is_available": True, "out_of_office_until": None, "note": ""}
        if row is not None:
            data = {"is_available": row.is_available, "out_of_office_until": row.out_of_office_until, "note": row.note}
        return Response(AvailabilitySerializer(data).data)

    @extend_schema(request=AvailabilitySerializer, responses=AvailabilitySerializer)
    def put(self, request):
        serializer = AvailabilitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.availability_set(user=request.user, actor=request.user, **serializer.validated_data)
        return self.get(request)
