"""Secrets at rest: key rotation, `manage.py reencrypt_secrets`, and the migration that encrypted stored rows."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from delivery.models import CallbackEndpoint
from delivery.services import callback_endpoint_create
from kernel.encryption import UndecryptableSecret, decrypt

pytestmark = pytest.mark.django_db
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def raw_secret(endpoint) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM delivery_callbackendpoint WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()[0]


def reencrypt() -> str:
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    return out.getvalue()


@pytest.fixture
def endpoints(settings):
    settings.CALLBACK_ALLOW_PRIVATE = True
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    return [
        callback_endpoint_create(name=f"e{i}", url="http://127.0.0.1:9/", event_types=["*"], actor="t")
        for i in range(3)
    ]


def test_rotating_the_keys(endpoints, settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]  # a new key first: old secrets still read
    assert [CallbackEndpoint.objects.get(pk=e.pk).secret for e, _ in endpoints] == [s for _, s in endpoints]

    assert "delivery.CallbackEndpoint.secret: 3 re-encrypted, 0 already under the newest key" in reencrypt()
    assert "delivery.CallbackEndpoint.secret: 0 re-encrypted, 3 already under the newest key" in reencrypt()

    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key dropped: everything still reads
    assert [CallbackEndpoint.objects.get(pk=e.pk).secret for e, _ in endpoints] == [s for _, s in endpoints]
    assert all(secret not in raw_secret(e) for e, secret in endpoints)


def test_dropping_a_key_too_early_is_reported_not_hidden(endpoints, settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(CommandError, match=r"3 stored secret\(s\) cannot be decrypted"):
        reencrypt()
    with pytest.raises(UndecryptableSecret, match="reencrypt_secrets"):
        CallbackEndpoint.objects.get(pk=endpoints[0][0].pk)


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_stored_rows_and_decrypts_them_back(settings):
    from django.db.migrations.executor import MigrationExecutor

    settings.CALLBACK_ALLOW_PRIVATE = True
    endpoint, secret = callback_endpoint_create(name="e", url="http://127.0.0.1:9/", event_types=["*"], actor="t")
    executor = MigrationExecutor(connection)
    executor.migrate([("delivery", "0004_organisation")])  # back: the stored value is decrypted
    assert raw_secret(endpoint) == secret
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE delivery_callbackendpoint SET previous_secret = %s WHERE id = %s", ["whsec_old", endpoint.pk]
        )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("delivery", "0005_secrets_encrypted")])  # forwards: encrypted
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, previous_secret FROM delivery_callbackendpoint WHERE id = %s", [endpoint.pk])
        stored, previous = cursor.fetchone()
    assert secret not in stored and decrypt(stored) == secret
    assert "whsec_old" not in previous and decrypt(previous) == "whsec_old"
