"""Production settings: required secrets, and `manage.py check --deploy` clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-production-like-secret-key-for-the-deploy-check-0123456789",
    "ALLOWED_HOSTS": "finobs.example",
    "PII_HASH_SALT": "production-like-salt",
    # Two Fernet keys, the newest first (a rotation under way).
    "FIELD_ENCRYPTION_KEYS": "mZ0cdJ6mWc3pKe8z7g9Wl3m0oJ5qYv2xG1bR4sT6uA8=,"
    "ZmluX29ic19vbGRlcl9rZXlfMDEyMzQ1Njc4OWFiY2Q=",
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "PII_HASH_SALT", "FIELD_ENCRYPTION_KEYS"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_is_a_startup_error_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_missing_field_encryption_keys_are_a_startup_error_when_debug_is_off():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "FIELD_ENCRYPTION_KEYS"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: FIELD_ENCRYPTION_KEYS must be set when DEBUG is off" in result.stderr


def test_a_field_encryption_key_that_is_not_a_fernet_key_is_a_startup_error():
    result = manage("check", env={**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": "not-a-key"})
    assert result.returncode != 0
    assert "not a Fernet key" in result.stderr
    assert "not-a-key" not in result.stderr  # a key never appears in an error


def test_a_jwt_key_that_is_not_an_rsa_private_key_is_a_startup_error():
    result = manage("check", env={**PRODUCTION_ENV, "JWT_PRIVATE_KEY": "not a key"})
    assert result.returncode != 0
    assert "JWT_PRIVATE_KEY is not an unencrypted PEM private key" in result.stderr


def test_openapi_schema_documents_the_ingest_endpoint(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/v1/transactions/ingest"]["post"]
    assert operation["operationId"] == "transactions_ingest"
    assert {"ApiKeyHeader", "BearerKey", "PersonToken"} <= set(schema["components"]["securitySchemes"])
    assert schema["components"]["securitySchemes"]["PersonToken"]["bearerFormat"] == "JWT"
    assert "/api/v1/auth/token" in schema["paths"]
    assert client.get("/api/docs/").status_code == 200
