"""Outbox ids become visible in id order, so readers paging by `id > last_seen` never skip an event.

Two real concurrent transactions on PostgreSQL (threads with their own connections).
"""

import contextvars
import threading

import pytest
from django.db import connection, transaction

from audit.services import audit_log
from conftest import default_organisation, wait_until
from delivery.feed import FeedFilters
from delivery.models import OutboxEvent
from delivery.selectors import decision_events_after
from delivery.services import outbox_append

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def event(name: str) -> tuple[str, dict]:
    return ("decision.created", {"external_id": name, "risk_level": "LOW", "flagged": False})


def waiting_on_advisory_lock(thread_pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND NOT granted", [thread_pid])
        return cursor.fetchone() is not None


class Writer(threading.Thread):
    """Appends events in its own transaction, and commits only when told to."""

    def __init__(self, name: str, *, audit_first: bool = False):
        super().__init__(name=name)
        self.context = contextvars.copy_context()  # the test's organisation
        self.audit_first = audit_first
        self.pid: int | None = None
        self.ids: list[int] = []
        self.started_tx = threading.Event()
        self.appended = threading.Event()
        self.may_commit = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        self.context.run(self._write)

    def _write(self):
        try:
            with transaction.atomic():
                self.pid = connection.connection.info.backend_pid
                self.started_tx.set()
                if self.audit_first:  # as case services do: audit, then outbox
                    audit_log(actor="tests", action="test.audit_first")
                self.ids = [row.pk for row in outbox_append(events=[event(self.name)])]
                if not self.audit_first:  # as ingest does: outbox, then audit
                    audit_log(actor="tests", action="test.outbox_first")
                self.appended.set()
                assert self.may_commit.wait(timeout=30)
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()


def test_a_later_commit_cannot_take_a_lower_id():
    first, second = Writer("first"), Writer("second")
    first.start()
    assert first.appended.wait(timeout=10)
    reader_cursor = 0
    second.start()
    assert second.started_tx.wait(timeout=10)
    # The second writer cannot draw an id while the first holds the lock: it waits on it.
    assert wait_until(lambda: second.pid is not None and waiting_on_advisory_lock(second.pid))
    assert not second.appended.is_set()
    # A reader sees neither event yet (both uncommitted), so its cursor stays put.
    events, reader_cursor = decision_events_after(
        after_id=reader_cursor, filters=FeedFilters(organisation_id=default_organisation().pk)
    )
    assert events == []

    first.may_commit.set()
    first.join(timeout=10)
    assert second.appended.wait(timeout=10)
    events, reader_cursor = decision_events_after(
        after_id=reader_cursor, filters=FeedFilters(organisation_id=default_organisation().pk)
    )
    assert [e["data"]["external_id"] for e in events] == ["first"]

    second.may_commit.set()
    second.join(timeout=10)
    assert first.error is None and second.error is None
    assert second.ids[0] > first.ids[0]
    events, reader_cursor = decision_events_after(
        after_id=reader_cursor, filters=FeedFilters(organisation_id=default_organisation().pk)
    )
    assert [e["data"]["external_id"] for e in events] == ["second"]  # nothing skipped, nothing twice


def test_outbox_then_audit_and_audit_then_outbox_writers_do_not_deadlock():
    """The outbox uses the audit chain's own lock: two different locks taken in opposite orders would deadlock."""
    ingest_like, case_like = Writer("ingest-like"), Writer("case-like", audit_first=True)
    ingest_like.start()
    case_like.start()
    assert wait_until(lambda: ingest_like.appended.is_set() or case_like.appended.is_set())
    ingest_like.may_commit.set()
    case_like.may_commit.set()
    ingest_like.join(timeout=20)
    case_like.join(timeout=20)
    assert not ingest_like.is_alive() and not case_like.is_alive()
    assert ingest_like.error is None and case_like.error is None
    assert OutboxEvent.objects.count() == 2
