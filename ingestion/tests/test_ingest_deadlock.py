"""A deadlock PostgreSQL breaks by ending the ingest's transaction: the batch is redone, not a 500.

Real concurrent transactions on PostgreSQL (a thread with its own connection): the other writer holds an
account's profile row and then inserts one of the batch's transactions, while the batch, having inserted
it, waits for that profile row. The batch started waiting first, so its deadlock check fires first and
PostgreSQL ends its transaction (deadlock_timeout, 1 s by default).
"""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from conftest import default_organisation, thread_in_this_context, transaction_record, wait_until
from ingestion.services import ingest
from scoring.models import AccountProfile, Decision, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def waiting_on_a_row_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", [pid])
        return cursor.fetchone() is not None


def test_a_batch_ended_by_a_deadlock_is_redone(champion):
    ingest(
        [transaction_record(1, account_id="acc-deadlock")],
        organisation=default_organisation(),
        source="acme",
        actor="tests",
    )  # the profile row
    batch_pid: list[int] = []
    outcome: dict = {}

    def batch():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                batch_pid.append(cursor.fetchone()[0])
            outcome["result"] = ingest(
                [transaction_record(2, account_id="acc-deadlock")],
                organisation=default_organisation(),
                source="acme",
                actor="tests",
            )
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    other_error: list[BaseException] = []

    def other_writer(ready: threading.Event, go: threading.Event):
        try:
            with transaction.atomic():
                AccountProfile.objects.select_for_update().get(account_id="acc-deadlock")
                ready.set()
                assert go.wait(timeout=20)
                # The batch inserted tx-2 and waits for the profile row: this insert waits for the batch.
                Transaction.objects.create(
                    source="acme",
                    external_id="tx-2",
                    account_id="acc-deadlock",
                    amount=1,
                    currency="EUR",
                    occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
                    received_at=datetime(2026, 11, 20, tzinfo=UTC),
                )
                transaction.set_rollback(True)  # got through once the batch's transaction ended: leave nothing
        except BaseException as exc:
            other_error.append(exc)
        finally:
            connection.close()

    ready, go = threading.Event(), threading.Event()
    other = thread_in_this_context(other_writer, ready, go)
    other.start()
    assert ready.wait(timeout=20)
    ingesting = thread_in_this_context(batch)
    ingesting.start()
    assert wait_until(lambda: batch_pid and waiting_on_a_row_lock(batch_pid[0]))  # blocked on the profile row
    go.set()
    other.join(timeout=30)
    ingesting.join(timeout=30)

    assert not other_error, other_error  # PostgreSQL ended the batch's transaction, not this one
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert (result.accepted, result.errors, result.duplicates) == (1, [], [])
    stored = Transaction.objects.get(source="acme", external_id="tx-2")
    assert Decision.objects.filter(transaction=stored).exists()
