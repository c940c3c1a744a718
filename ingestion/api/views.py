"""Integrator API: batch ingest of transactions."""

import msgspec
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from finobs.api.errors import ApiError
from ingestion.api.serializers import IngestRequestSerializer, IngestResponseSerializer
from ingestion.auth import ApiKeyAuthentication, HasApiKeyScope
from ingestion.services import ingest

_decode_json = msgspec.json.Decoder().decode


def batch_from_body(request) -> list:
    """The batch from a JSON body that is a list, or an object with a `transactions` list."""
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            code="unsupported_media_type",
            message="Send the batch as JSON with Content-Type: application/json.",
            details={"content_type": content_type},
        )
    try:
        body = request.body
    except RequestDataTooBig:
        raise ApiError(
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            code="payload_too_large",
            message="The request body is larger than the server accepts.",
            details={"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        ) from None
    try:
        data = _decode_json(body)
    except msgspec.DecodeError as exc:
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="malformed_json",
            message="The request body is not valid JSON.",
            details={"error": str(exc)},
        ) from None
    if isinstance(data, dict) and "transactions" in data:
        data = data["transactions"]
    if not isinstance(data, list):
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="invalid_envelope",
            message='The body must be a list of transactions or an object {"transactions": [...]}.',
        )
    if not data:
        raise ApiError(status_code=status.HTTP_400_BAD_REQUEST, code="empty_batch", message="The batch is empty.")
    if len(data) > settings.INGEST_MAX_BATCH:
        raise ApiError(
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            code="batch_too_large",
            message=f"A batch holds at most {settings.INGEST_MAX_BATCH} transactions; split it.",
            details={"max_items": settings.INGEST_MAX_BATCH, "received_items": len(data)},
        )
    return data


class IngestView(APIView):
    """Score and store a batch of transactions."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKeyScope]
    required_scope = "ingest"

    @extend_schema(
        operation_id="transactions_ingest",
        summary="Ingest a batch of transactions",
        description=(
            'Up to 10,000 transactions per request, as a list or as `{"transactions": [...]}`. '
            "Valid items are scored and stored; invalid items are reported in `errors` with their index "
            "and field; items already stored for this source are reported in `duplicates` with their "
            "existing decision. Authenticate with `X-Webhook-Key: <key>` or `Authorization: Bearer <key>`."
        ),
        request=IngestRequestSerializer(many=True),
        responses={200: IngestResponseSerializer},
        examples=[
            OpenApiExample(
                "One card payment",
                request_only=True,
                value=[
                    {
                        "external_id": "tx-1001",
                        "account_id": "acc-42",
                        "amount": "129.90",
                        "currency": "EUR",
                        "timestamp": "2026-11-20T14:03:00Z",
                        "merchant_id": "m-881",
                        "merchant_category": "5411",
                        "country": "DE",
                        "channel": "card_present",
                    }
                ],
            )
        ],
    )
    def post(self, request):
        records = batch_from_body(request)
        result = ingest(records, source=request.auth.source, actor=request.auth)
        if result.errors and not result.accepted and not result.duplicates:
            raise ApiError(
                status_code=status.HTTP_400_BAD_REQUEST,
                code="invalid_items",
                message="No transaction in the batch is valid.",
                details={"errors": [e.as_dict() for e in result.errors]},
            )
        return Response(result.as_dict(), status=status.HTTP_200_OK)
