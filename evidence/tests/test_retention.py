"""Retention with the clock moved forward: expired records are archived into signed bundles and removed, a
case under legal hold survives, and the audit chain verifies before and after (from the archive checkpoint),
while the archived segment verifies on its own."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from approvals.services import approval_decide
from audit.checkpoints import audit_checkpoint_write, audit_checkpoints_read
from audit.models import AuditEvent
from audit.services import PLATFORM, audit_log, audit_verify, chain_of
from cases.models import Approval, Case
from cases.services import case_close, case_legal_hold
from evidence.models import ExportRecord
from evidence.services.retention import records_archive
from finobs.retention import retention_prune
from organisations.context import system_context
from scoring.models import Decision, Transaction

pytestmark = pytest.mark.django_db


def close(case, personas):
    case_close(case=case, outcome="confirmed_fraud", rationale="confirmed by the bank", actor=personas["alice"])
    approval = Approval.objects.get(case=case, status="pending")
    approval_decide(approval=approval, actor=personas["carol"], approve=True, note="agreed")


@pytest.fixture
def expired_world(open_case, personas, settings):
    settings.TRANSACTION_RETENTION_DAYS = 30
    settings.PRUNE_BATCH_ROWS = 2  # several transaction bundles
    done = open_case("a-1", n=2)
    held = open_case("a-2", n=2)
    close(done, personas)
    close(held, personas)
    case_legal_hold(case=held, hold=True, reason="Litigation 2026-17", actor=personas["carol"])
    still_open = open_case("a-3", n=1)
    return done, held, still_open


def test_retention_archives_expired_records_and_keeps_the_chain_verifiable(expired_world, export_paths, capsys):
    done, held, still_open = expired_world
    audit_checkpoint_write()
    assert audit_verify(checkpoints=audit_checkpoints_read()).ok
    events_before = AuditEvent.objects.count()

    with time_machine.travel(timezone.now() + timedelta(days=8 * 366), tick=True):
        removed = records_archive()
    assert removed["cases"] == 1 and removed["transactions"] == 2 and removed["audit_events"] > 0
    # A second run finds nothing more: what it wrote itself is not old enough.
    with time_machine.travel(timezone.now() + timedelta(days=8 * 366), tick=True):
        assert records_archive() == {"cases": 0, "transactions": 0, "audit_events": 0}

    assert not Case.objects.filter(pk=done.pk).exists()
    assert Case.objects.get(pk=held.pk).legal_hold  # held: never removed
    assert Case.objects.filter(pk=still_open.pk).exists()  # open cases have no retention period yet
    # a-1's transactions went once their case had; the held and open cases keep theirs.
    assert set(Transaction.objects.values_list("account_id", flat=True)) == {"a-2", "a-3"}
    assert Decision.objects.count() == Transaction.objects.count() == 3
    archived = ExportRecord.objects.filter(kind__startswith="archive_", status="done")
    assert {r.kind for r in archived} == {"archive_case", "archive_transactions", "archive_audit"}
    assert archived.filter(kind="archive_transactions").count() == 1  # 2 transactions, PRUNE_BATCH_ROWS 2

    # What remains of the chain verifies from the signed archive checkpoint, with and without later checkpoints.
    remaining = AuditEvent.objects.order_by("id")
    assert remaining.count() < events_before
    archive = [c for c in audit_checkpoints_read() if c.archived][-1]
    assert remaining.first().prev_hash == archive.head_hash
    assert audit_verify(checkpoints=audit_checkpoints_read()).ok
    audit_checkpoint_write()
    call_command("verify_audit")
    assert f"continuing the archived segment of {archive.events} events" in capsys.readouterr().out
    # Every archive bundle verifies on its own; the audit one as an unbroken segment ending at the checkpoint.
    for record in archived:
        path = Path(export_paths / "archive" / record.file_name)
        call_command("verify_bundle", str(path))
    assert capsys.readouterr().out.count("VERIFIED") == archived.count()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"retention.case_archived", "retention.transactions_archived", "retention.audit_archived"} <= actions


def test_the_platforms_chain_is_archived_and_verifies_from_its_checkpoint(expired_world, export_paths, capsys):
    with system_context():
        for n in range(3):
            audit_log(actor="staff:root", action="organisation.created", object_type="organisation", object_id=n,
                      organisation=PLATFORM)  # fmt: skip
    platform_before = chain_of(None).count()
    audit_checkpoint_write(organisation=PLATFORM)

    with time_machine.travel(timezone.now() + timedelta(days=8 * 366), tick=True):
        records_archive()

    with system_context():
        record = ExportRecord.objects.get(kind="archive_audit", organisation__isnull=True)
    assert record.status == "done" and record.file_name.startswith("_platform/")
    archive = [c for c in audit_checkpoints_read() if c.archived and c.organisation_id is None][-1]
    assert archive.events == platform_before
    remaining = chain_of(None).order_by("id")
    # What the platform's chain holds now begins after the archived segment: the archive's own events.
    assert remaining.first().prev_hash == archive.head_hash
    assert set(remaining.values_list("action", flat=True)) <= {"export.completed", "retention.audit_archived"}
    assert audit_verify(organisation=PLATFORM, checkpoints=audit_checkpoints_read()).ok
    audit_checkpoint_write(organisation=PLATFORM)
    call_command("verify_audit")
    assert capsys.readouterr().out.count("continuing the archived segment") >= 2  # the organisation's, the platform's
    call_command("verify_bundle", str(export_paths / "archive" / record.file_name))
    assert "VERIFIED" in capsys.readouterr().out


def test_removing_more_of_the_chain_than_was_archived_is_detected(expired_world, tamper):
    with time_machine.travel(timezone.now() + timedelta(days=8 * 366), tick=True):
        records_archive()
    first = AuditEvent.objects.order_by("id").first()
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [first.pk])
    report = audit_verify(checkpoints=audit_checkpoints_read())
    assert not report.ok and "does not continue the archived segment" in report.reason
    with pytest.raises(CommandError, match="FAILED"):
        call_command("verify_audit")


def test_the_daily_retention_run_archives_too(expired_world):
    with time_machine.travel(timezone.now() + timedelta(days=8 * 366), tick=True):
        result = retention_prune()
    assert result["archived_cases"] == 1 and result["archived_audit_events"] > 0
    assert result["archived_transactions"] == 2


def test_a_legal_hold_needs_compliance_and_a_reason(open_case, personas):
    from django.core.exceptions import PermissionDenied, ValidationError

    case = open_case("a-1")
    with pytest.raises(PermissionDenied):
        case_legal_hold(case=case, hold=True, reason="x", actor=personas["alice"])
    with pytest.raises(ValidationError):
        case_legal_hold(case=case, hold=True, reason=" ", actor=personas["carol"])
    case_legal_hold(case=case, hold=True, reason="Subpoena", actor=personas["carol"])
    event = AuditEvent.objects.filter(action="case.legal_hold_placed").get()
    assert event.payload["reason"] == "Subpoena" and event.actor == "user:carol"


def test_the_api_places_and_releases_a_legal_hold(client, open_case, personas):
    case = open_case("a-1")
    url = f"/api/v1/cases/{case.reference}/legal-hold/"
    client.force_login(personas["alice"])
    assert client.post(url, {"hold": True, "reason": "x"}, "application/json").status_code == 403
    client.force_login(personas["carol"])
    placed = client.post(url, {"hold": True, "reason": "Subpoena 44"}, "application/json")
    assert placed.status_code == 200 and placed.json()["legal_hold"] is True
    released = client.post(url, {"hold": False, "reason": "Matter closed"}, "application/json")
    assert released.json()["legal_hold"] is False
    assert [e.kind for e in case.events.order_by("id")][-2:] == ["legal_hold", "legal_hold"]
