"""Changes made behind the ORM's back are found by verify_audit."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.services import audit_verify

pytestmark = pytest.mark.django_db


def test_verify_audit_reports_an_intact_chain(chain):
    chain(3)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().splitlines()[0] == "Audit chain of default OK: 3 events verified."


def test_changed_payload_is_reported_with_its_row(chain, tamper):
    events = chain(5)
    target = events[2]
    tamper("UPDATE audit_auditevent SET payload = %s WHERE id = %s", [json.dumps({"seq": 99}), target.pk])

    with pytest.raises(CommandError, match=rf"row {target.pk}: hash mismatch: row {target.pk} was modified"):
        call_command("verify_audit", batch_size=2)
    report = audit_verify()
    assert (report.ok, report.first_bad_id, report.checked) == (False, target.pk, 2)


def test_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(chain, tamper):
    events = chain(4)
    tamper("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, events[1].pk])

    report = audit_verify()
    assert report.first_bad_id == events[1].pk
    assert "hash mismatch" in report.reason


def test_deleted_middle_row_is_reported_as_a_broken_chain(chain, tamper):
    events = chain(5)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])

    with pytest.raises(CommandError, match=rf"chain broken before row {events[3].pk}: a row is missing"):
        call_command("verify_audit")


def test_deleted_first_row_is_reported(chain, tamper):
    events = chain(3)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[0].pk])

    report = audit_verify()
    assert report.first_bad_id == events[1].pk
    assert "does not start from genesis" in report.reason


def test_swapped_rows_are_reported_as_reordered(chain, tamper):
    events = chain(4)
    first, second = events[1].pk, events[2].pk
    spare = events[-1].pk + 1000
    for old, new in ((first, spare), (second, first), (spare, second)):
        tamper("UPDATE audit_auditevent SET id = %s WHERE id = %s", [new, old])

    report = audit_verify()
    assert report.first_bad_id == first
    assert report.reason == f"chain broken before row {first}: a row is missing or was reordered"
