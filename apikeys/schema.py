"""OpenAPI description of API-key authentication (a drf-spectacular extension, loaded by ApikeysConfig)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-Webhook-Key"},
            {"type": "http", "scheme": "bearer"},
        ]
