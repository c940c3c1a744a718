"""Scoring API: transactions with their decision and explanation, the model registry, drift, experiments."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView, get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals.services import approval_decide
from kernel.api.errors import ApiError
from kernel.api.permissions import ScopeOrPermission, api_key_of
from scoring.api import serializers as s
from scoring.models import Experiment, ModelVersion, PromotionRequest, Transaction
from scoring.selectors import drift_reports, drift_status
from scoring.services.experiments import experiment_start, experiment_stop
from scoring.services.explanations import decision_explanation
from scoring.services.monitoring import model_retrain_request
from scoring.services.registry import model_promote_or_request, model_rollback
from scoring.visibility import transactions_visible_to

READ_MODELS = ("scoring.view_modelversion",)
PROMOTE = ("scoring.promote_model",)


def visible_transactions(request):
    """An API key sees its own source's transactions; a person those scoring.visibility allows."""
    queryset = Transaction.objects.select_related("decision__model_version").defer(
        *ModelVersion.heavy_fields("decision__model_version")
    )
    key = api_key_of(request)
    return queryset.filter(source=key.source) if key is not None else transactions_visible_to(request.user, queryset)


def registry_queryset():
    return ModelVersion.objects.defer(*ModelVersion.HEAVY_FIELDS).select_related("created_by", "promoted_by")


class TransactionDetailView(RetrieveAPIView):
    """A transaction with the decision taken on it."""

    permission_classes = [ScopeOrPermission]
    required_scope = "read"
    required_perms = ("scoring.view_transaction", "scoring.view_decision")
    serializer_class = s.TransactionSerializer

    def get_queryset(self):
        return visible_transactions(self.request)


class TransactionExplanationView(APIView):
    """Top SHAP contributions for the transaction's decision; computed and stored on first request."""

    permission_classes = [ScopeOrPermission]
    required_scope = "read"
    required_perms = ("scoring.view_explanation",)

    @extend_schema(responses={200: s.ExplanationSerializer}, operation_id="transactions_explanation")
    def get(self, request, pk: int):
        txn = get_object_or_404(visible_transactions(request), pk=pk)
        decision = getattr(txn, "decision", None)
        if decision is None or decision.features is None:
            raise ApiError(status_code=404, code="no_decision", message="This transaction has no scored decision.")
        explanation = decision_explanation(decision=decision)
        if explanation is None:
            raise ApiError(status_code=409, code="not_explainable",
                           message="The model version that scored this transaction has no explainer.")  # fmt: skip
        return Response({"transaction_id": txn.pk, "model_version": decision.model_version.version, **explanation})


class ModelLeaderboardView(ListAPIView):
    """Model versions, best held-out F1 first (the leaderboard); the champion is marked by its status."""

    permission_classes = [ScopeOrPermission]
    required_scope = "read"
    required_perms = READ_MODELS
    serializer_class = s.ModelVersionSerializer
    pagination_class = None

    def get_queryset(self):
        return registry_queryset()

    def list(self, request, *args, **kwargs):
        versions = list(self.get_queryset())
        versions.sort(key=lambda v: (-(v.metrics or {}).get("holdout", {}).get("f1", 0.0), -v.version))
        return Response(self.get_serializer(versions, many=True).data)


class ModelPromoteView(APIView):
    """Promote a candidate: with four-eyes on, this asks for approval (202); otherwise it promotes (200)."""

    permission_classes = [ScopeOrPermission]
    required_perms = PROMOTE

    @extend_schema(
        request=s.PromoteSerializer, responses={200: s.ModelVersionSerializer, 202: s.PromotionRequestSerializer}
    )
    def post(self, request, version: int):
        payload = _valid(s.PromoteSerializer, request)
        model_version = get_object_or_404(ModelVersion, version=version)
        result = model_promote_or_request(model_version=model_version, actor=request.user, reason=payload["reason"])
        if isinstance(result, PromotionRequest):
            return Response(s.PromotionRequestSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return Response(s.ModelVersionSerializer(registry_queryset().get(pk=result.pk)).data)


class ModelRollbackView(APIView):
    """Put back the previous champion (audited; no second approval: it is the emergency brake)."""

    permission_classes = [ScopeOrPermission]
    required_perms = PROMOTE

    @extend_schema(request=s.PromoteSerializer, responses={200: s.ModelVersionSerializer})
    def post(self, request):
        payload = _valid(s.PromoteSerializer, request)
        model_version = model_rollback(actor=request.user, reason=payload["reason"])
        return Response(s.ModelVersionSerializer(registry_queryset().get(pk=model_version.pk)).data)


class PromotionRequestListView(ListAPIView):
    permission_classes = [ScopeOrPermission]
    required_perms = READ_MODELS
    serializer_class = s.PromotionRequestSerializer

    def get_queryset(self):
        return PromotionRequest.objects.select_related("model_version", "requested_by", "decided_by").defer(
            *ModelVersion.heavy_fields("model_version")
        )


class PromotionDecisionView(APIView):
    """Approve (a second person) or reject a pending promotion request."""

    permission_classes = [ScopeOrPermission]
    required_perms = PROMOTE
    decision = "approve"

    @extend_schema(request=s.NoteSerializer, responses={200: s.PromotionRequestSerializer})
    def post(self, request, pk: int):
        payload = _valid(s.NoteSerializer, request)
        promotion = get_object_or_404(PromotionRequest, pk=pk)
        approve = self.decision == "approve"
        approval_decide(approval=promotion, actor=request.user, approve=approve, note=payload["note"])
        promotion.refresh_from_db()
        return Response(s.PromotionRequestSerializer(promotion).data)


class ModelRetrainView(APIView):
    """Start retraining on recent stored traffic (a Celery task); the candidate appears in the leaderboard."""

    permission_classes = [ScopeOrPermission]
    required_perms = ("scoring.retrain_model",)
    throttle_scope = "retrain"  # each request trains a model on the worker: a budget of its own per person

    @extend_schema(request=None, responses={202: OpenApiResponse(description="Retraining queued.")})
    def post(self, request):
        run = model_retrain_request(actor=request.user, reason="requested through the API")
        return Response({"status": "queued", "retrain_run": run.pk}, status=status.HTTP_202_ACCEPTED)


class DriftView(APIView):
    """The champion's latest drift report, and the recent history of reports."""

    permission_classes = [ScopeOrPermission]
    required_scope = "read"
    required_perms = READ_MODELS

    @extend_schema(responses={200: s.DriftStatusSerializer})
    def get(self, request):
        reports = drift_reports()
        latest = reports[0] if reports else None
        return Response(
            {
                "status": drift_status(latest),
                "latest": s.DriftReportSerializer(latest).data if latest else None,
                "history": s.DriftReportSerializer(reports, many=True).data,
            }
        )


class ExperimentListView(APIView):
    permission_classes = [ScopeOrPermission]
    required_scope = "read"
    required_perms = {"GET": READ_MODELS, "POST": ("scoring.manage_experiments",)}

    def _queryset(self):
        return Experiment.objects.select_related("champion", "challenger").defer(
            *ModelVersion.heavy_fields("champion"), *ModelVersion.heavy_fields("challenger")
        )

    @extend_schema(responses={200: s.ExperimentSerializer(many=True)})
    def get(self, request):
        return Response(s.ExperimentSerializer(self._queryset()[:50], many=True).data)

    @extend_schema(request=s.ExperimentStartSerializer, responses={201: s.ExperimentSerializer})
    def post(self, request):
        if api_key_of(request) is not None:
            raise ApiError(status_code=403, code="permission_denied", message="Experiments are started by people.")
        payload = _valid(s.ExperimentStartSerializer, request)
        challenger = (
            ModelVersion.objects.defer(*ModelVersion.HEAVY_FIELDS).filter(version=payload["challenger_version"]).first()
        )
        if challenger is None:  # a field of the body that names nothing: the request is invalid, not the URL
            message = f"No model version {payload['challenger_version']}."
            raise ApiError(status_code=400, code="invalid", message=message,
                           details={"challenger_version": [message]})  # fmt: skip
        experiment = experiment_start(challenger=challenger, challenger_share=payload["challenger_share"],
                                      name=payload["name"], actor=request.user)  # fmt: skip
        return Response(s.ExperimentSerializer(self._queryset().get(pk=experiment.pk)).data, status=201)


class ExperimentStopView(APIView):
    permission_classes = [ScopeOrPermission]
    required_perms = ("scoring.manage_experiments",)

    @extend_schema(request=None, responses={200: s.ExperimentSerializer})
    def post(self, request, pk: int):
        experiment = experiment_stop(experiment=get_object_or_404(Experiment, pk=pk), actor=request.user)
        return Response(s.ExperimentSerializer(experiment).data)


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
