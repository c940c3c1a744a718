"""Concurrent appends from several connections keep one unbroken chain."""

import pytest

from audit.models import AuditEvent
from audit.services import AuditEntry, audit_log, audit_log_many, audit_verify
from conftest import run_in_threads

THREADS = 6
APPENDS_PER_THREAD = 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    def append(worker: int) -> None:
        for i in range(APPENDS_PER_THREAD):
            if i % 3:
                audit_log(actor=f"api:worker{worker}", action="ingest.batch", object_id=i)
            else:
                audit_log_many([AuditEntry(actor=f"api:worker{worker}", action="case.opened")] * 2)

    run_in_threads(append, THREADS)  # together behind a barrier; an error in any thread fails the test

    assert AuditEvent.objects.count() == THREADS * (APPENDS_PER_THREAD + APPENDS_PER_THREAD // 3)
    report = audit_verify()
    assert report.ok, report.reason
    assert report.checked == AuditEvent.objects.count()
