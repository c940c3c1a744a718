"""The OpenAPI schema says what the API answers when it refuses: the error shape and when each status comes.

A drf-spectacular postprocessing hook: every operation documents the errors any of them can answer
(400 invalid parameters or body, 401 no or a bad credential, 403 not allowed, 406 an Accept header asking
for something other than JSON, 429 over the rate limit),
operations on one object 404, writes 409 (the object's state refuses it), and operations with a body
413 and 415; each as the one error shape `{code, message, details}`. An operation may document more
(ingest's 503) with the same component.
"""

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "What went wrong, for programs: invalid, not_found, …"},
        "message": {"type": "string", "description": "What went wrong, for people."},
        "details": {"type": "object", "additionalProperties": True, "description": "Per field, or what applies."},
    },
    "required": ["code", "message", "details"],
}
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
DESCRIPTIONS = {
    "400": "The request is not valid: `details` names each field and what is wrong with it.",
    "401": "No credential, or one that is not valid (a revoked or expired key).",
    "403": "The credential may not do this (an API key's scope, a person's permission).",
    "404": "Nothing the caller may see is there.",
    "406": "The Accept header asks for a representation this operation does not give (it answers JSON).",
    "409": "The object's state does not allow this now.",
    "413": "The body is larger than the server accepts.",
    "415": "The body is not in a format this operation takes.",
    "429": "Over a rate limit (the API key's, or the signed-in person's); `Retry-After` says when to try again.",
}
WRITES = {"post", "put", "patch", "delete"}


PAGINATION = {"limit", "offset"}


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

    Also: a list's filters treat an empty value as no filter (django-filter, as the pages' forms send
    them), so its query parameters allow one.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            if method not in WRITES | {"get"}:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter["name"] not in PAGINATION:
                    parameter["allowEmptyValue"] = True
            codes = ["400", "401", "403", "406", "429"]
            if "{" in path:
                codes.append("404")
            if method in WRITES:
                codes.append("409")
            if "requestBody" in operation:
                codes += ["413", "415"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": DESCRIPTIONS[code], "content": ERROR})
    return result
