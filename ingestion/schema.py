"""OpenAPI description of API-key authentication (drf-spectacular extension, loaded by IngestionConfig)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "ingestion.auth.ApiKeyAuthentication"
    name = ["ApiKeyHeader", "BearerKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-Webhook-Key"},
            {"type": "http", "scheme": "bearer"},
        ]
