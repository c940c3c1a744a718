"""OpenAPI description of the SSE stream, an async Django view DRF cannot see (a postprocessing hook)."""


def add_stream_paths(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the SSE stream, an async Django view DRF cannot see."""
    parameters = [
        {
            "name": "flagged_only",
            "in": "query",
            "schema": {"type": "boolean", "default": False},
            "description": "Only flagged decisions.",
        },
        {
            "name": "min_risk_level",
            "in": "query",
            "schema": {"type": "string", "enum": ["LOW", "MEDIUM", "HIGH", "CRITICAL"]},
            "description": "Only decisions at this risk level or above.",
        },
        {
            "name": "Last-Event-ID",
            "in": "header",
            "schema": {"type": "integer", "minimum": 0},
            "description": "Replay every event after this id (EventSource sends it when it reconnects).",
        },
        {
            "name": "last_event_id",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0},
            "description": "The same as Last-Event-ID, for clients that cannot set headers.",
        },
    ]
    error_shape = {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
        "required": ["code", "message", "details"],
    }
    error = {"application/json": {"schema": error_shape}}
    result.setdefault("paths", {})["/api/v1/stream/decisions"] = {
        "get": {
            "operationId": "stream_decisions",
            "summary": "Follow new decisions (Server-Sent Events)",
            "description": (
                "A `text/event-stream` of `decision.created` events: `id: <outbox id>`, "
                "`event: decision.created`, `data: <decision JSON>`, with `: heartbeat` comments. "
                "Needs an API key with the `stream` scope, or a person with scoring.view_live_decisions "
                "(by access token or session)."
            ),
            "tags": ["stream"],
            "parameters": parameters,
            "security": [{"ApiKeyHeader": []}, {"BearerKey": []}, {"PersonToken": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "The event stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "400": {"description": "An invalid filter or event id.", "content": error},
                "401": {"description": "No, a bad, a revoked or an expired key.", "content": error},
                "403": {"description": "The key lacks the stream scope.", "content": error},
            },
        }
    }
    return result
