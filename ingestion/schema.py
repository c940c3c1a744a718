"""What drf-spectacular cannot infer about the ingest operation, added to the OpenAPI schema (a postprocessing hook)."""

from django.conf import settings

from kernel.api.schema import ERROR

PATH = "/api/v1/transactions/ingest"


def document_ingest(result, generator, request, public):
    """The batch's bounds, its envelope form, and the answers only ingest gives (409, 422 and 503)."""
    operation = result.get("paths", {}).get(PATH, {}).get("post")
    if operation is None:
        return result
    content = operation["requestBody"]["content"]["application/json"]
    listed = {**content["schema"], "minItems": 1, "maxItems": settings.INGEST_MAX_BATCH}
    content["schema"] = {
        "oneOf": [
            listed,
            {"type": "object", "properties": {"transactions": listed}, "required": ["transactions"]},
        ]
    }
    responses = operation["responses"]
    responses["409"] = {"description": "A request with this Idempotency-Key is still in flight.", "content": ERROR}
    responses["422"] = {"description": "This Idempotency-Key was used with another body.", "content": ERROR}
    responses["503"] = {"description": "No champion model yet: nothing was stored.", "content": ERROR}
    return result
