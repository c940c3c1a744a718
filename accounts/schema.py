"""OpenAPI description of people's bearer tokens (a drf-spectacular extension, loaded by AccountsConfig)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PersonTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonTokenAuthentication"
    name = "PersonToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A person's access token from POST /api/v1/auth/token (valid minutes; refresh it).",
        }
