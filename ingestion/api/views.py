"""Integrator API: batch ingest of transactions."""

import msgspec
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication, HasApiKeyScope
from ingestion.api.serializers import IngestRequestSerializer, IngestResponseSerializer
from ingestion.services.coalescing import ingest_coalesced
from ingestion.services.idempotency import (
    IdempotencyError,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    check_idempotency_key,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
)
from kernel.api.errors import ApiError, error_body
from scoring.inference import NoChampionModel

_decode_json = msgspec.json.Decoder().decode
# The response of a 10,000-item batch is ~2 MB of JSON: msgspec encodes it in a few ms (DRF's renderer: ~10x).
_encode_json = msgspec.json.Encoder(decimal_format="number").encode
_IDEMPOTENCY_STATUS = {IdempotencyKeyReused: 422, IdempotencyKeyInProgress: 409}


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
    # RecursionError: nesting deeper than msgspec follows; UnicodeDecodeError: a string that is not UTF-8.
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise ApiError(
            status_code=status.HTTP_400_BAD_REQUEST,
            code="malformed_json",
            message="The request body is not valid JSON (or nests too deeply, or has a number out of range).",
            details={"error": str(exc)[:200]},
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
            "existing decision. Authenticate with `X-Webhook-Key: <key>` or `Authorization: Bearer <key>`. "
            "With an `Idempotency-Key` header (up to 255 printable characters) a repeated request gets the "
            "stored response (header `Idempotent-Replayed: true`); the same key with another body is a 422 "
            "`idempotency_key_reused`, and while the first request is in flight a 409 "
            "`idempotency_key_in_progress`. Keys expire after IDEMPOTENCY_TTL_HOURS."
        ),
        request=IngestRequestSerializer(many=True, min_length=1, max_length=settings.INGEST_MAX_BATCH),
        responses={200: IngestResponseSerializer},
        examples=[
            OpenApiExample(
                "One card payment",
                request_only=True,
                # One item: the schema shows it inside the batch's list.
                value={
                    "external_id": "tx-1001",
                    "account_id": "acc-42",
                    "amount": "129.90",
                    "currency": "EUR",
                    "timestamp": "2026-11-20T14:03:00Z",
                    "merchant_id": "m-881",
                    "merchant_category": "5411",
                    "country": "DE",
                    "channel": "card_present",
                },
            )
        ],
    )
    def post(self, request):
        idempotency_key = request.headers.get("Idempotency-Key")
        if idempotency_key is not None:
            try:
                check_idempotency_key(idempotency_key)
            except IdempotencyError as exc:
                raise ApiError(status_code=400, code=exc.code, message=str(exc)) from None
        records = batch_from_body(request)
        if idempotency_key is None:
            return self._ingest(request, records)
        try:
            claim = idempotency_claim(api_key=request.auth, key=idempotency_key, body=request.body)
        except IdempotencyError as exc:
            raise ApiError(
                status_code=_IDEMPOTENCY_STATUS.get(type(exc), 400),
                code=exc.code,
                message=str(exc),
                details={"idempotency_key": idempotency_key.strip()},
            ) from None
        if claim.is_replay:
            response = HttpResponse(claim.body, status=claim.status, content_type="application/json")
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = self._ingest(request, records)
        except BaseException:
            idempotency_release(claim=claim)
            raise
        idempotency_complete(claim=claim, status=response.status_code, body=response.content)
        return response

    def _ingest(self, request, records: list) -> HttpResponse:
        try:
            key = request.auth
            result = ingest_coalesced(records, organisation=key.organisation, source=key.source, actor=key)
        except NoChampionModel:
            raise ApiError(
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                code="no_model",
                message="No scoring model is promoted yet; nothing was stored. Retry once a champion exists.",
            ) from None
        if result.errors and not result.accepted and not result.duplicates:
            body = error_body(
                "invalid_items",
                "No transaction in the batch is valid.",
                {"errors": [e.as_dict() for e in result.errors]},
            )
            response = HttpResponse(
                _encode_json(body), status=status.HTTP_400_BAD_REQUEST, content_type="application/json"
            )
        else:
            response = HttpResponse(_encode_json(result.as_dict()), content_type="application/json")
        response["Server-Timing"] = ", ".join(f"{name};dur={ms:.1f}" for name, ms in result.timings_ms.items())
        return response
