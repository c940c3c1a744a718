"""Concurrent appends from several connections keep one unbroken chain."""

import threading

import pytest
from django.db import connection

from audit.models import AuditEvent
from audit.services import AuditEntry, audit_log, audit_log_many, audit_verify

THREADS = 6
APPENDS_PER_THREAD = 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(APPENDS_PER_THREAD):
                if i % 3:
                    audit_log(actor=f"api:worker{worker}", action="ingest.batch", object_id=i)
                else:
                    audit_log_many([AuditEntry(actor=f"api:worker{worker}", action="case.opened")] * 2)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AuditEvent.objects.count() == THREADS * (APPENDS_PER_THREAD + APPENDS_PER_THREAD // 3)
    report = audit_verify()
    assert report.ok, report.reason
    assert report.checked == AuditEvent.objects.count()
