"""On PostgreSQL the database itself refuses UPDATE, DELETE and TRUNCATE of audit events."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _refused(sql: str, params: list | None = None) -> str:
    """Run `sql` in a savepoint, expect the database to refuse it, and return its message."""
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(excinfo.value)


def test_raw_update_is_refused(chain):
    event = chain(2)[0]
    message = _refused("UPDATE audit_auditevent SET actor = %s WHERE id = %s", ["user:mallory", event.pk])
    assert "append-only: UPDATE is not allowed" in message
    assert AuditEvent.objects.get(pk=event.pk).actor == "system"


def test_raw_delete_is_refused(chain):
    chain(2)
    message = _refused("DELETE FROM audit_auditevent")
    assert "append-only: DELETE is not allowed" in message
    assert AuditEvent.objects.count() == 2


def test_truncate_is_refused(chain):
    chain(2)
    with transaction.atomic():
        # The test database disables this trigger so that test teardown can flush (see conftest).
        with connection.cursor() as cursor:
            # The chain's deferred foreign-key checks first: ALTER TABLE refuses a table with pending ones.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only_truncate")
        message = _refused("TRUNCATE audit_auditevent")
        transaction.set_rollback(True)
    assert "append-only: TRUNCATE is not allowed" in message
    assert AuditEvent.objects.count() == 2
    assert audit_verify().ok
