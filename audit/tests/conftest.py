"""Audit test wiring: raw-SQL tampering past the triggers, and chain builders."""

from collections.abc import Callable

import pytest
from django.db import connection

from audit.models import AuditEvent
from audit.services import AuditEntry, audit_log_many


@pytest.fixture
def tamper() -> Callable[..., None]:
    """Run raw SQL against the audit table as an attacker with database access would.

    On PostgreSQL the append-only triggers would refuse it, so they are switched off for the
    session (needs a superuser) and switched back on afterwards.
    """

    def run(sql: str, params: list | None = None) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = replica")
            try:
                cursor.execute(sql, params)
            finally:
                if connection.vendor == "postgresql":
                    cursor.execute("SET session_replication_role = origin")

    return run


@pytest.fixture
def chain() -> Callable[[int], list[AuditEvent]]:
    """Append `n` simple events and return them."""

    def build(n: int) -> list[AuditEvent]:
        entries = [
            AuditEntry(actor="system", action="case.opened", object_type="case", object_id=i, payload={"seq": i})
            for i in range(n)
        ]
        return audit_log_many(entries)

    return build


@pytest.fixture(autouse=True)
def checkpoint_file(settings, tmp_path):
    """Each test signs its checkpoints into its own file."""
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit-checkpoints.jsonl")
    return tmp_path / "audit-checkpoints.jsonl"
